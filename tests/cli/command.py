"""Running ``python -m hookline …`` as an operator would, and reading what it said."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_S = 90.0  # imports alone take seconds on a busy 2-core machine


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def said(self) -> str:
        """The last line on stderr: the one-line explanation of a failure."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def environment(**settings: Any) -> dict[str, str]:
    """This process's environment without its ``HOOKLINE_*`` variables, plus ``settings`` as variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update({"HOOKLINE_" + k.upper(): str(v) for k, v in settings.items()})
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def hookline(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        cwd=cwd,
        env=env if env is not None else environment(),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)
