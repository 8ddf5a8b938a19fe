"""Progress on stderr for commands that can take more than a few seconds.

Shown only on a terminal and erased when it stops (transient): stdout stays clean for
``--json``, logs of non-interactive runs get no bar lines, and an error raised while the bar
is up is printed after the bar has gone, never below a half-drawn one.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress(label: str, *, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield ``update(completed=None, total=None, stage=None)`` driving one bar (or a no-op)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda **_: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(completed=None, total=None, stage=None):
            kw = {}
            if completed is not None:
                kw["completed"] = completed
            if total is not None:
                kw["total"] = total
            if stage is not None:
                kw["description"] = f"{label}: {stage}"
            bar.update(task, **kw)

        yield update
