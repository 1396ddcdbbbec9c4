"""The mini-program client's own unit tests (jest + miniprogram-simulate), reported through pytest."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.e2e.conftest import REPO

MINIPROGRAM = REPO / "miniprogram"


def test_miniprogram_unit_tests_pass():
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: run scripts/bootstrap.sh (it installs nodejs and npm)")
    if not (MINIPROGRAM / "node_modules" / ".bin" / "jest").exists():
        # normally done by scripts/bootstrap.sh; keeps a bare `pytest` run honest too
        install = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=MINIPROGRAM,
                                 capture_output=True, text=True, timeout=600)
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    result = subprocess.run([npm, "test"], cwd=MINIPROGRAM, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Tests:" in output and "failed" not in output.split("Tests:")[-1].splitlines()[0], output[-3000:]
