"""Render the class report with headless Chromium and save a screenshot, to check it displays.

    python -m autograder.report.screenshot DIR [--out PNG] [--width 1280] [--height 2000]

DIR is a graded folder (its ``report/index.html`` is written first if missing); the screenshot
goes to ``DIR/report/screenshot.png`` unless ``--out`` says otherwise. Needs Chromium
(``apt-get install -y chromium``); ``find_chromium()`` returns None when it is absent.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """Path of a Chromium-like browser, or None. ``CHROMIUM`` in the environment wins."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path, png_path, *, width=1280, height=2000, timeout=90, chromium=None):
    """Render ``html_path`` (from file://, no server) and write ``png_path``. Returns png_path."""
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError("no Chromium found: apt-get install -y chromium (or set CHROMIUM)")
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png_path}",
                   f"--window-size={width},{height}", html_path.as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if not png_path.exists():
        raise RuntimeError(f"Chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}")
    return png_path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.report.screenshot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grades_dir", nargs="?", default="grades")
    parser.add_argument("--out")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args(argv)
    index = Path(args.grades_dir) / "report" / "index.html"
    if not index.exists():
        from autograder.report import write_report
        index = write_report(args.grades_dir)
    out = Path(args.out) if args.out else index.parent / "screenshot.png"
    print(screenshot(index, out, width=args.width, height=args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
