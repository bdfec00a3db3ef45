import time

import pytest

# Sections other tests add to the end-of-run summary: {title: lines}, filled by `terminal_summary`.
SUMMARY_SECTIONS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def dist(tmp_path_factory):
    """Every exercise with a master notebook, built once per session: (out folder, build results)."""
    from autograder import EXERCISES
    from autograder.builder import build, master_path

    built = [e for e in EXERCISES if master_path(e).exists()]
    out = tmp_path_factory.mktemp("dist")
    start = time.perf_counter()
    results = build(built, out, progress=False)
    print(f"\nbuild of {len(built)} assignments: {time.perf_counter() - start:.1f} s "
          + ", ".join(f"{e} {r['seconds']:.1f} s" for e, r in results.items()))
    return out, results


@pytest.fixture(scope="session")
def terminal_summary(request):
    """``terminal_summary(title, lines)`` prints ``lines`` under ``title`` at the end of the run."""
    sections = request.config.stash.setdefault(SUMMARY_SECTIONS, {})

    def add(title, lines):
        sections[title] = list(lines)
    return add


def pytest_terminal_summary(terminalreporter, config):
    """Print how many documented numbers each seed has and how many we reproduce, then the
    sections tests added (the fair-grades figures)."""
    from solutions.ledger import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("documented numbers per worked notebook")
        for line in lines:
            terminalreporter.write_line(line)
    for title, lines in config.stash.get(SUMMARY_SECTIONS, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
