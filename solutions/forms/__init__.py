"""The student-facing functions of each exercise as the master notebook writes them (generated)."""
