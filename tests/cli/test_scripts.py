"""The README's ``./scripts/hookline`` keeps the development tools that ``./scripts/test`` installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli.command import environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_scripts_hookline_leaves_the_dev_dependencies_installed() -> None:
    # It syncs .venv from uv.lock without the dev group; a strict sync would uninstall pytest and the rest.
    done = subprocess.run(
        [str(ROOT / "scripts" / "hookline"), "--version"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("hookline ")
    for tool in ("pytest", "ruff", "mypy", "lint-imports"):
        assert (ROOT / ".venv" / "bin" / tool).exists(), f"{tool} was removed from .venv"
