"""The command line every ``bench_*.py`` with a ``run(quick) -> dict`` shares."""

from __future__ import annotations

import argparse
import json
from typing import Callable


def main(run: Callable[[bool], dict], doc: str | None, width: int = 40) -> None:
    """Parse ``--quick`` / ``--json``, call *run* and print its figures (JSON or aligned)."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.quick)
    if a.json:
        print(json.dumps(res, indent=2, sort_keys=True))
        return
    for k, v in res.items():
        print(f"{k:{width}s} {v:.4g}" if isinstance(v, float) else f"{k:{width}s} {v}")
