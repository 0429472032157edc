"""Running `python -m motion_tokens COMMAND ...` as a user does (a new process) and checking
the one-line refusal every command gives bad input, for the command tests to share."""

from __future__ import annotations

import subprocess
import sys


def run_command(command: str, *args, timeout: float = 300):
    """`python -m motion_tokens COMMAND ARGS` in a new process; the CompletedProcess."""
    argv = [sys.executable, "-m", "motion_tokens", command, *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def assert_bad_input(result, *words):
    """Exit status 2, one line on stderr holding each of `words`, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert str(word) in lines[0], lines[0]
