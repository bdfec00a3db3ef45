def pytest_terminal_summary(terminalreporter):
    """Print how many documented numbers each seed has and how many we reproduce."""
    from solutions.ledger import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("documented numbers per worked notebook")
        for line in lines:
            terminalreporter.write_line(line)
