"""Settings file for the command line: ``backprop-lab.toml`` in the current folder, or ``--config FILE``.

    # backprop-lab.toml
    [build]
    out = "dist"
    course = "my-course"       # a folder laid out like the repository's assignments/

    [grade]
    out = "grades"
    dist = "dist"
    workers = 4

    [limits]                   # the sandbox's limits, for grade and demo
    timeout = 90               # seconds per submission (also: submission_timeout)
    memory_mb = 4096

    [report]
    [demo]

A section is a subcommand (plus ``[limits]`` for the limit options of ``grade`` and ``demo``); its
keys are that subcommand's long options without the dashes (``memory-mb`` or ``memory_mb``), so
every option a subcommand gains is a key of its section too. The command line wins over the file,
the file over the built-in defaults. Relative paths in the file are relative to the file's folder.
A file with an unknown section or key, or a value of the wrong type, is refused whole
(``ConfigError``: the message names the file, the key and what is allowed).
"""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

DEFAULT_FILE = "backprop-lab.toml"
LIMITS_SECTION = "limits"  # options marked with ``action.config_section = LIMITS_SECTION``


class ConfigError(Exception):
    """The settings file is missing, is not TOML, or names a key or value the commands do not take."""


def find_config(given: str | None, cwd: Path | None = None) -> Path | None:
    """The file to read: ``given`` (it must exist), else ``backprop-lab.toml`` in ``cwd`` if present."""
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"{given}: no such config file")
        return path
    default = Path(cwd or Path.cwd()) / DEFAULT_FILE
    return default if default.is_file() else None


def load_config(path: Path) -> dict:
    """The TOML file's tables, unvalidated."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from error


def configurable_options(parser: argparse.ArgumentParser, section: str) -> dict[str, argparse.Action]:
    """The options a section may set on one subcommand's parser, by key (the option's dest)."""
    options = {}
    for action in parser._actions:
        if not action.option_strings or action.dest in (argparse.SUPPRESS, "help", "config"):
            continue
        if action.default is argparse.SUPPRESS:  # -v, -q, --version: not settings
            continue
        in_limits = getattr(action, "config_section", None) == LIMITS_SECTION
        if (section == LIMITS_SECTION) == in_limits:
            options[action.dest] = action
    return options


def apply_config(subparsers: dict[str, argparse.ArgumentParser], config: dict, source: Path) -> None:
    """Make the file's values the defaults of the subcommands' parsers (so the command line still wins).
    Raises ConfigError for anything the parsers do not take; nothing is applied then."""
    updates: list[tuple[argparse.ArgumentParser, dict]] = []
    sections = sorted([*subparsers, LIMITS_SECTION])
    for section, table in config.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {section!r} must be a section ([{section}]), one of "
                              f"{', '.join(f'[{s}]' for s in sections)}")
        if section == LIMITS_SECTION:
            targets = [p for p in subparsers.values() if configurable_options(p, LIMITS_SECTION)]
        elif section in subparsers:
            targets = [subparsers[section]]
        else:
            raise ConfigError(f"{source}: unknown section [{section}]; the sections are "
                              f"{', '.join(f'[{s}]' for s in sections)}")
        for parser in targets:
            options = configurable_options(parser, section)
            aliases = {_key(opt): action for action in options.values() for opt in action.option_strings}
            defaults = {}
            for key, value in table.items():
                action = options.get(_key(key)) or aliases.get(_key(key))
                if action is None:
                    raise ConfigError(f"{source}: [{section}] has no key {key!r}; the keys are "
                                      f"{', '.join(sorted(options)) or '(none)'}")
                defaults[action.dest] = convert(action, value, f"{source}: [{section}] {key}", source.parent)
            updates.append((parser, defaults))
    for parser, defaults in updates:
        parser.set_defaults(**defaults)


def _key(name: str) -> str:
    return name.lstrip("-").replace("-", "_")


def convert(action: argparse.Action, value, where: str, base: Path):
    """``value`` from the file as the option would have parsed it from the command line."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    many = action.nargs in ("*", "+") or isinstance(action.nargs, int)
    if many:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_one(action, item, where, base) for item in value]
    return _one(action, value, where, base)


def _one(action: argparse.Action, value, where: str, base: Path):
    if isinstance(value, (dict, list, bool)) or value is None:
        raise ConfigError(f"{where}: expected a single value, got {value!r}")
    kind = action.type or str
    if kind in (str, Path) and not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if kind is float and not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        converted = kind(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {value!r} is not valid ({error})") from error
    if isinstance(converted, Path) and not converted.is_absolute():
        converted = base / converted
    if action.choices is not None and converted not in action.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted
