"""What commands print: tables and progress bars for people (rich), JSON for scripts (``--json``).

rich is imported here, when a command prints, never by ``hookline --help``. Tables go to stdout, progress
and notes to stderr, so ``hookline merchants list --json | jq`` and a redirected table both stay clean; on a
stream that is not a terminal, progress bars stay silent.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


WIDE = 1000  # a table piped to a file or another program keeps its full cells (not cut to 80 columns)


def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else WIDE)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def emit_json(value: Any) -> None:
    """``value`` as JSON on stdout, one document per command."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None) -> None:
    """``rows`` as a table of ``columns`` (missing values blank), or a note that there are none."""
    from rich.table import Table

    console = stdout()
    if not rows:
        console.print(f"(no {title or 'rows'})" if title else "(none)")
        return
    shown = Table(*columns, title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for row in rows:
        shown.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(shown)


def facts(pairs: Sequence[tuple[str, Any]]) -> None:
    """A few labelled values, aligned (what a create command made)."""
    width = max(len(label) for label, _ in pairs)
    console = stdout()
    for label, value in pairs:
        console.print(f"{label.ljust(width)}  {_cell(value)}", markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@contextlib.contextmanager
def progress(
    description: str, total: int | None, *, quiet: bool = False
) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr for ``total`` steps (unknown yet: a spinner); yields ``update(done, total)``
    (a ``total`` of None keeps the one known)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = stderr()
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=quiet or not console.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def update(done: int, new_total: int | None = None) -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.update(task, completed=done)

        yield update
