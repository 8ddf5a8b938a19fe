"""Parameter sweeps: many what-if runs of one scenario, written as they finish and resumable.

A sweep is a scenario plus axes (``workload.params.context_len=4096,16384,65536``) and a list
of mappings. Every point of the cartesian product is simulated under every mapping. Each
finished run is appended to ``sweep.jsonl`` at once (flushed and fsynced), keyed by its point
and mapping, so an interrupted sweep loses at most the runs in flight and a re-run with the
same output directory skips what is already there. Points run in worker processes
(``jobs > 1``) or on a dask cluster (the ``dist`` extra).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from . import catalog
from .errors import ConfigError, HetsimError
from .loader import resolve_scenario_path, scenario_from_dict
from .simulation import check_scenario, run_scenario


@dataclass(frozen=True)
class Axis:
    """One swept field: a dotted path into the scenario document and its values."""

    path: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """Parse ``dotted.path=v1,v2,...`` (values read as YAML scalars: 4096, 0.5, "1 GB/s")."""
    if "=" not in text:
        raise ConfigError(f"sweep axis {text!r} must look like 'workload.params.context_len=4096,8192'",
                          field="--set")
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ConfigError(f"sweep axis {text!r}: empty field name", field="--set")
    values = tuple(yaml.safe_load(v.strip()) for v in raw.split(",") if v.strip() != "")
    if not values:
        raise ConfigError(f"sweep axis {text!r} has no values", field="--set")
    return Axis(path, values)


def set_path(doc: dict, path: str, value: Any) -> None:
    """Set ``doc[a][b][c] = value`` for path ``a.b.c``; list items by index (``devices.0``)."""
    keys = path.split(".")
    cur: Any = doc
    for i, k in enumerate(keys[:-1]):
        if isinstance(cur, list):
            if not k.isdigit() or int(k) >= len(cur):
                raise ConfigError(f"no list item {k!r} at {'.'.join(keys[:i + 1])}", field=path)
            cur = cur[int(k)]
        elif isinstance(cur, dict):
            cur = cur.setdefault(k, {})
        else:
            raise ConfigError(f"{'.'.join(keys[:i])} is not a mapping", field=path)
    last = keys[-1]
    if isinstance(cur, list):
        if not last.isdigit() or int(last) >= len(cur):
            raise ConfigError(f"no list item {last!r}", field=path)
        cur[int(last)] = value
    elif isinstance(cur, dict):
        cur[last] = value
    else:
        raise ConfigError(f"cannot set {path}: its parent is not a mapping", field=path)


def points(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every combination of axis values, in a fixed order."""
    return [dict(zip([a.path for a in axes], combo)) for combo in itertools.product(*[a.values for a in axes])]


def run_key(point: dict[str, Any], mapping: str) -> str:
    """Stable key of one run (used to resume)."""
    return json.dumps({"point": point, "mapping": mapping}, sort_keys=True)


def _run_one(doc: dict, file: str, point: dict[str, Any], mapping: str) -> dict:
    """Worker: one simulation; a user error becomes a recorded failure, not a crash."""
    d = copy.deepcopy(doc)
    for path, value in point.items():
        set_path(d, path, value)
    row = {"point": point, "mapping": mapping}
    try:
        out = run_scenario(scenario_from_dict(d, file), mapping=mapping, file=file)
    except HetsimError as e:
        return {**row, "error": str(e)}
    r = out.result
    return {**row, "makespan_s": r["makespan_s"], "energy_j": r["energy_j"],
            "energy_per_token_j": r["energy_per_token_j"],
            "memory_processing_fraction": r["memory_processing_fraction"],
            "steps": {k: v["critical_s"] for k, v in r["steps"].items()},
            "extrapolated_tasks": len(r["extrapolated_tasks"])}


def read_done(path: Path) -> dict[str, dict]:
    """Runs already in a sweep file (a torn last line from a crash is ignored)."""
    done: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[run_key(row["point"], row["mapping"])] = row
    return done


def sweep(scenario: str | None, axes: list[Axis], mappings: Iterable[str], out: Path, *, jobs: int = 1,
          use_dask: bool = False, on_result: Callable[[dict, int, int], None] | None = None) -> list[dict]:
    """Run (or resume) a sweep; return all rows in point order.

    Parameters
    ----------
    scenario : str or None
        Scenario file or built-in name.
    axes : list of Axis
        Fields to vary.
    mappings : iterable of str
        Mapping policies to run at every point.
    out : Path
        Directory; ``sweep.jsonl`` there is appended to and read back to resume.
    jobs : int
        Worker processes (1 = in this process).
    use_dask : bool
        Submit points to a ``dask.distributed`` client (address from ``DASK_SCHEDULER_ADDRESS``
        or a local cluster).
    on_result : callable, optional
        Called with (row, finished, total) after each run (progress bars).
    """
    path = resolve_scenario_path(scenario)
    doc = catalog.read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError("a scenario must be a mapping", file=str(path))
    mappings = list(mappings)
    pts = points(axes)
    # validate every point up front: a typo in an axis fails before hours of runs
    for p in pts:
        d = copy.deepcopy(doc)
        for k, v in p.items():
            set_path(d, k, v)
        check_scenario(scenario_from_dict(d, str(path)), file=str(path), mappings=mappings)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "sweep.jsonl"
    done = read_done(jsonl)
    todo = [(p, m) for p in pts for m in mappings if run_key(p, m) not in done]
    total, finished = len(pts) * len(mappings), len(pts) * len(mappings) - len(todo)
    with jsonl.open("a") as fh:
        def record(row):
            nonlocal finished
            fh.write(json.dumps(row, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done[run_key(row["point"], row["mapping"])] = row
            finished += 1
            if on_result:
                on_result(row, finished, total)

        if use_dask:
            try:
                from dask.distributed import Client, as_completed as dask_completed
            except ImportError:
                raise ConfigError("--dask needs the 'dist' extra: pip install 'hetsim[dist]' distributed") from None
            addr = os.environ.get("DASK_SCHEDULER_ADDRESS")
            with (Client(addr) if addr else Client(processes=True, n_workers=max(1, jobs))) as client:
                futs = [client.submit(_run_one, doc, str(path), p, m, pure=False) for p, m in todo]
                for fut in dask_completed(futs):
                    record(fut.result())
        elif jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futs = [pool.submit(_run_one, doc, str(path), p, m) for p, m in todo]
                for fut in as_completed(futs):
                    record(fut.result())
        else:
            for p, m in todo:
                record(_run_one(doc, str(path), p, m))
    return [done[run_key(p, m)] for p in pts for m in mappings]
