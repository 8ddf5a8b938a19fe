"""Parameter sweeps: many what-if runs of one scenario, written as they finish and resumable.

A sweep is a scenario plus axes (``workload.params.context_len=4096,16384,65536``) and a list
of mappings. Every point of the cartesian product is simulated under every mapping. Finished
runs are appended to ``sweep.jsonl`` as they arrive (flushed at once, fsynced at least every
second), keyed by point and mapping, so an interrupted sweep loses at most the runs in flight.

A stored run is reused only when it is still the answer: each row carries a fingerprint of the
fully resolved scenario at its point (every preset number, every cost table's bytes) and the
hetsim version. A re-run recomputes rows whose fingerprint changed and failed rows (unless
``keep_failed``), and reports how many of each. Runs go to worker processes in chunks
(``jobs > 1``; each worker keeps its imports and cost cache across its runs) or to a dask
cluster (the ``dist`` extra).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from . import catalog
from .config.scenario import Scenario
from .errors import CapacityError, ConfigError, HetsimError
from .inputs import flag_value, set_key
from .loader import resolve_scenario_path, scenario_from_dict
from .simulation import check_scenario, run_scenario


@dataclass(frozen=True)
class Axis:
    """One swept field: a dotted path into the scenario document and its values."""

    path: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """Parse ``dotted.path=v1,v2,...`` (values read as YAML scalars: 4096, 0.5, "1 GB/s"); a
    key without a dot is a workload parameter (``context_len=4096,8192``)."""
    if "=" not in text:
        raise ConfigError(f"sweep axis {text!r} must look like 'workload.params.context_len=4096,8192'",
                          field="--set")
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ConfigError(f"sweep axis {text!r}: empty field name", field="--set")
    path = set_key(path)  # context_len=... is workload.params.context_len, as in run and compare
    values = tuple(flag_value(v) for v in raw.split(",") if v.strip() != "")
    if not values:
        raise ConfigError(f"sweep axis {text!r} has no values", field="--set")
    return Axis(path, values)


def check_axes(axes: list[Axis], mappings: list[str] = ()) -> None:
    """Refuse axes that overlap and repeated values or mappings (ConfigError naming ``--set``).

    Why: points are dicts keyed by path, so a path given twice kept only its last axis (every
    row then ran the second axis's value under the first's label), and a repeated value or
    mapping ran the same simulation twice as if it were two points.
    """
    for i, a in enumerate(axes):
        for b in axes[:i]:
            if a.path == b.path or a.path.startswith(b.path + ".") or b.path.startswith(a.path + "."):
                raise ConfigError(f"{a.path!r} overlaps the axis {b.path!r}; give each field one --set "
                                  "with all its values", field=f"--set {a.path}")
        seen = [json.dumps(v, sort_keys=True, default=repr) for v in a.values]
        twice = sorted({v for v in seen if seen.count(v) > 1})
        if twice:
            raise ConfigError(f"values given twice: {', '.join(twice)}", field=f"--set {a.path}")
    twice = sorted({m for m in mappings if list(mappings).count(m) > 1})
    if twice:
        raise ConfigError(f"policies given twice: {', '.join(twice)}", field="--mappings")


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


@lru_cache(maxsize=1)
def hetsim_version() -> str:
    """Installed hetsim version (part of every fingerprint: new code may give new answers)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hetsim")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def fingerprint(scenario: Scenario) -> str:
    """Hash of the fully resolved scenario, the bytes of its cost tables and the hetsim version."""
    h = hashlib.sha256()
    h.update(hetsim_version().encode())
    h.update(scenario.model_dump_json().encode())
    for dev in scenario.system.devices:
        for t in dev.cost_tables:
            try:
                h.update(Path(t).read_bytes())
            except OSError:
                h.update(f"missing:{t}".encode())
    return h.hexdigest()[:20]


# per-process state of a worker: cost models by system, so repeated points of one system
# price each (kernel, shape) once per worker instead of once per run
_COSTS: dict[str, Any] = {}


def _costs_for(scenario: Scenario):
    from .costs import CostModel
    from .costs.tables import load_tables

    key = scenario.system.model_dump_json()
    cm = _COSTS.get(key)
    if cm is None:
        if len(_COSTS) >= 16:
            _COSTS.clear()
        cm = _COSTS[key] = CostModel(load_tables(scenario.system))
    return cm


_GRAPH: dict[str, Any] = {}  # the last workload graph built, for the next mapping of the same point


def _graph_for(scenario: Scenario, file: str):
    from .workloads.registry import build_workload

    wl = scenario.workload
    key = json.dumps([wl.name, wl.params], sort_keys=True, default=str)
    if key not in _GRAPH:
        _GRAPH.clear()
        _GRAPH[key] = build_workload(wl.name, wl.params, file=file)
    return _GRAPH[key]


def _run_one(scenario: Scenario, file: str, point: dict[str, Any], mapping: str, fp: str) -> dict:
    """One simulation; a user error becomes a recorded failure, not a crash."""
    row = {"point": point, "mapping": mapping, "fingerprint": fp}
    try:
        out = run_scenario(scenario, mapping=mapping, file=file, mapping_flag="--mappings",
                           costs=_costs_for(scenario), graph=_graph_for(scenario, file))
    except HetsimError as e:
        return {**row, "error": str(e)}
    r = out.result
    return {**row, "makespan_s": r["makespan_s"], "energy_j": r["energy_j"],
            "energy_per_token_j": r["energy_per_token_j"],
            "memory_processing_fraction": r["memory_processing_fraction"],
            "steps": {k: v["critical_s"] for k, v in r["steps"].items()},
            "extrapolated_tasks": len(r["extrapolated_tasks"])}


def _run_chunk(file: str, items: list[tuple]) -> list[dict]:
    """Worker entry: several runs in one call, so pool round trips are per chunk, not per run."""
    return [_run_one(sc, file, p, m, fp) for sc, p, m, fp in items]


def chunked(items: list, jobs: int, group: int = 1) -> list[list]:
    """Split the runs, in order, into chunks of at most 32 that shrink towards the end.

    Each chunk is a quarter of one worker's share of the runs still left (guided
    self-scheduling), so the last chunks are small and the workers finish together (equal
    chunks of 32 left one worker idle for up to a chunk, ~3 s, at the end of a sweep). Sizes
    are multiples of *group* (the mappings of one point): a point's runs stay in one chunk
    and share the graph the worker builds for it.
    """
    jobs, group = max(1, jobs), max(1, group)
    out, i = [], 0
    while i < len(items):
        size = min(32, -(-(len(items) - i) // (4 * jobs)))
        size = max(group, -(-size // group) * group)
        out.append(items[i:i + size])
        i += size
    return out


#: numbers every successful row holds (see :func:`_run_one`)
_ROW_NUMBERS = ("makespan_s", "energy_j", "energy_per_token_j", "memory_processing_fraction",
                "extrapolated_tasks")


def _valid_row(row: Any) -> bool:
    """True when *row* has the shape :func:`_run_one` writes (a corrupt line is never reused).

    Why: a resumed sweep trusts stored rows whose fingerprint matches; a line damaged on disk
    (a garbled number, a missing field) must be recomputed, not reported or plotted.
    """
    if not (isinstance(row, dict) and isinstance(row.get("point"), dict)
            and isinstance(row.get("mapping"), str)
            and isinstance(row.get("fingerprint", ""), str)):  # none: an older hetsim's row (stale)
        return False
    if "error" in row:
        return isinstance(row["error"], str)
    nums = [row.get(k) for k in _ROW_NUMBERS]
    steps = row.get("steps")
    if not isinstance(steps, dict):
        return False
    nums += list(steps.values())
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
               for v in nums)


def read_done(path: Path) -> tuple[dict[str, dict], int, list[int]]:
    """Runs already in a sweep file, the number of lines read and the unusable lines' numbers.

    A torn last line (an interrupted write), a line that is not UTF-8 or not JSON (a foreign
    header), or a row without the fields of a finished run is skipped, and its run recomputed.
    """
    done: dict[str, dict] = {}
    lines = 0
    bad: list[int] = []
    if path.is_dir():
        raise ConfigError(f"{str(path)!r} is a directory; the sweep stores its runs in this file",
                          field="--out")
    if path.exists():
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {str(path)!r}: {e.strerror or e}", field="--out") from None
        for raw in data.splitlines():
            lines += 1
            try:
                row = json.loads(raw.decode("utf-8"))
                ok = _valid_row(row)
            except (UnicodeDecodeError, ValueError, RecursionError):
                ok = False
            if not ok:
                if raw.strip():
                    bad.append(lines)
                continue
            done[run_key(row["point"], row["mapping"])] = row
    return done, lines, bad


@dataclass
class SweepOutcome:
    """All rows of a sweep in point order and what this invocation did to get them."""

    rows: list[dict]
    computed: int = 0
    reused: int = 0
    stale: int = 0  # recomputed: scenario fingerprint or hetsim version changed
    retried: int = 0  # recomputed: the stored run had failed
    notices: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if "error" in r]

    def failures_by_reason(self) -> dict[str, list[dict]]:
        """Failed rows grouped by their full error message (each reason reported once)."""
        out: dict[str, list[dict]] = {}
        for r in self.failed:
            out.setdefault(r["error"], []).append(r)
        return out


def resolve_points(doc: dict, file: str, pts: list[dict], mappings: list[str]) -> list[tuple[Scenario, str]]:
    """Validate every point up front (a typo in an axis fails before hours of runs).

    Returns each point's resolved scenario and fingerprint."""
    from .loader import resolve_system

    out = []
    systems: dict[str, Any] = {}  # points that leave the system alone share its resolution
    for p in pts:
        d = copy.deepcopy(doc)
        for k, v in p.items():
            set_path(d, k, v)
        system = None
        if isinstance(d, dict) and "system" in d:
            key = json.dumps(d["system"], sort_keys=True, default=repr)
            if key not in systems:
                systems[key] = resolve_system(d["system"], file)
            system = systems[key]
        sc = scenario_from_dict(d, file, system=system)
        try:
            check_scenario(sc, file=file, mappings=mappings)
        except CapacityError:
            pass  # a valid question whose answer is "does not fit": runs, and is reported failed
        out.append((sc, fingerprint(sc)))
    return out


def unplaceable(resolved: list[tuple[Scenario, str]], mappings: list[str]) -> dict[str, str]:
    """Mappings that cannot be placed at any point of *resolved* -> the first point's reason.

    A policy that fails only at some points (an axis over the system's devices) is a per-point
    answer and is not listed.
    """
    from .mapping.registry import check_devices
    from .simulation import split_policy

    bad: dict[str, str] = {}
    for m in mappings:
        policy, _ = split_policy(m)
        reason = None
        for sc, _fp in resolved:
            params = sc.mapping.params if policy == sc.mapping.policy else {}
            try:
                check_devices(policy, sc.system, params)
            except HetsimError as e:
                reason = reason or e.detail
                continue
            reason = None
            break
        if reason is not None and resolved:
            bad[m] = reason
    return bad


def placement_error(bad: dict[str, str], mappings: list[str], file: str, *,
                    flag: str = "--mappings") -> ConfigError:
    """The error for the first of *bad* (from :func:`unplaceable`), naming *flag*."""
    m, reason = next(iter(bad.items()))
    ok = [x for x in mappings if x not in bad]
    allowed = f"policies that can run here: {', '.join(ok)}" if ok else "e.g. gpu-only"
    return ConfigError(f"{m!r} cannot be placed at any point of the sweep ({file}: {reason}); "
                       f"leave it out ({allowed})", field=flag)


def check_placeable(resolved: list[tuple[Scenario, str]], mappings: list[str], file: str, *,
                    flag: str = "--mappings") -> None:
    """Refuse a mapping that cannot be placed at any point (ConfigError naming *flag*).

    Why: ``--mappings hetero`` on a system without an FPGA failed every run and the sweep
    ended with exit 3 ("runs failed") after all the work.
    """
    bad = unplaceable(resolved, mappings)
    if bad:
        raise placement_error(bad, mappings, file, flag=flag)


def run_sweep(scenario: str | None, axes: list[Axis], mappings: Iterable[str], out: Path, *, jobs: int = 1,
              use_dask: bool = False, scheduler: str | None = None, keep_failed: bool = False,
              on_result: Callable[[dict, int, int], None] | None = None,
              on_notice: Callable[[str], None] | None = None,
              resolved: list[tuple[Scenario, str]] | None = None) -> SweepOutcome:
    """Run (or resume) a sweep.

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
    use_dask, scheduler : bool, str
        Submit chunks to a ``dask.distributed`` cluster: at *scheduler* (``tcp://host:8786``),
        else at ``DASK_SCHEDULER_ADDRESS``, else a local cluster of *jobs* workers.
    keep_failed : bool
        Reuse stored failed runs instead of retrying them.
    on_result : callable, optional
        Called with (row, finished, total) after each run (progress bars).
    on_notice : callable, optional
        Called with each notice (stale or retried rows) before any run starts.
    resolved : list, optional
        :func:`resolve_points` of ``points(axes)``, when the caller has validated them already
        (the CLI does, to name the ``--set`` flag in errors); by default they are resolved here.
    """
    path = resolve_scenario_path(scenario)
    doc = catalog.read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError("a scenario must be a mapping", file=str(path))
    file = str(path)
    mappings = list(mappings)
    check_axes(axes, mappings)
    pts = points(axes)
    if resolved is None:
        resolved = resolve_points(doc, file, pts, mappings)
        check_placeable(resolved, mappings, file)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "sweep.jsonl"
    done, lines, unusable = read_done(jsonl)
    res = SweepOutcome(rows=[])
    todo = []
    for p, (sc, fp) in zip(pts, resolved):
        for m in mappings:
            old = done.get(run_key(p, m))
            if old is None:
                pass
            elif old.get("fingerprint") != fp:
                res.stale += 1
            elif "error" in old and not keep_failed:
                res.retried += 1
            else:
                res.reused += 1
                continue
            todo.append((sc, p, m, fp))
    if unusable:
        at = ", ".join(map(str, unusable[:5])) + (f" and {len(unusable) - 5} more" if len(unusable) > 5 else "")
        at = ("lines " if len(unusable) > 1 else "line ") + at
        res.notices.append(f"ignoring {len(unusable)} unreadable line(s) of {jsonl} ({at}: damaged "
                           f"or not a sweep row); {len(done)} good row(s) kept, the runs of the ignored "
                           "lines are recomputed")
    if res.stale:
        res.notices.append(f"recomputing {res.stale} stored run(s) whose scenario or hetsim version "
                           "changed since they ran (fingerprint differs)")
    if res.retried:
        res.notices.append(f"retrying {res.retried} stored run(s) that had failed (--keep-failed reuses them)")
    for note in res.notices if on_notice else ():
        on_notice(note)
    total, finished = len(pts) * len(mappings), res.reused
    last_sync = [time.monotonic()]
    with jsonl.open("a") as fh:
        def record(rows):
            nonlocal finished
            fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
            fh.flush()
            if time.monotonic() - last_sync[0] > 1.0:
                os.fsync(fh.fileno())
                last_sync[0] = time.monotonic()
            for r in rows:
                done[run_key(r["point"], r["mapping"])] = r
                finished += 1
                res.computed += 1
                if on_result:
                    on_result(r, finished, total)

        chunks = chunked(todo, jobs, group=len(mappings))
        if use_dask:
            _run_dask(file, chunks, jobs, scheduler, record)
        elif jobs > 1 and len(chunks) > 1:
            with ProcessPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
                futs = [pool.submit(_run_chunk, file, c) for c in chunks]
                for fut in as_completed(futs):
                    record(fut.result())
        else:  # one point (its mappings) at a time: an interrupted sweep keeps every finished run
            step = max(1, len(mappings))
            for c in chunks:
                for i in range(0, len(c), step):
                    record(_run_chunk(file, c[i:i + step]))
        fh.flush()
        os.fsync(fh.fileno())
    res.rows = [done[run_key(p, m)] for p in pts for m in mappings]
    if lines + res.computed > len(done):  # superseded or torn lines: keep one current row per run
        _compact(jsonl, done)
    return res


def _compact(jsonl: Path, done: dict[str, dict]) -> None:
    """Rewrite the file with one (current) row per run, atomically; superseded rows go."""
    tmp = jsonl.with_suffix(".jsonl.tmp")
    with tmp.open("w") as fh:
        fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in done.values()))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, jsonl)


def _run_dask(file: str, chunks: list, jobs: int, scheduler: str | None, record) -> None:
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ConfigError("--dask needs the 'dist' extra: pip install 'hetsim[dist]'") from None
    addr = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    where = "--scheduler" if scheduler else "DASK_SCHEDULER_ADDRESS"
    try:
        client = (Client(addr, timeout="15s") if addr
                  else Client(processes=True, n_workers=max(1, jobs), dashboard_address=None))
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"cannot reach the dask scheduler at {addr} within 15 s ({type(e).__name__})",
                          field=where) from None
    except ValueError as e:  # dask refuses the address itself ("missing port number", a bad scheme)
        raise ConfigError(f"{addr!r} is not a dask scheduler address ({e}); expected e.g. "
                          "tcp://10.0.0.5:8786", field=where) from None
    with client:
        futs = [client.submit(_run_chunk, file, c, pure=False) for c in chunks]
        for fut in dask_completed(futs):
            record(fut.result())


def sweep(scenario: str | None, axes: list[Axis], mappings: Iterable[str], out: Path, **kw) -> list[dict]:
    """Run (or resume) a sweep; return all rows in point order (see :func:`run_sweep`)."""
    return run_sweep(scenario, axes, mappings, out, **kw).rows
