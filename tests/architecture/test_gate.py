"""The code gate: ruff (pyflakes, pycodestyle errors, import order, bug-risk rules) over the whole
tree and mypy over the application packages, configured in pyproject.toml. Both must be clean."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
