"""Pure functions from a :class:`~hetsim.trace.Trace` to the result numbers people read.

Definitions (also in the README):

* **makespan_s** — end of the last record.
* **busy_s of a step** — summed durations of its tasks (transfers: of their hops), counting
  concurrent work twice; it says how much work a step is.
* **critical_s of a step** — time the step spends on the *executed* critical path: walking
  back from the last task to finish, each task is reached from whatever released it last —
  the predecessor whose end it waited for, or the task that freed the engine or channel it
  queued for. Summed over steps this equals the makespan minus any idle gaps on the path;
  it says how much a step delays the result.
* **memory_processing_fraction** — critical time of Prepare Memory, Compute Relevancy,
  Retrieval and of transfers, over the makespan. On a ``gpu-only`` run it is the share of the
  GPU-only makespan spent in steps 1-3 (the study's 22-97 % figure).
* **energy** — every device draws idle power over the whole makespan plus, while an engine
  is busy, ``(active - idle) / engines``; every link its idle power over the makespan plus
  ``(active - idle)`` per busy direction plus energy per byte. A step's energy is its tasks'
  full share (idle share of the engine + extra) over their durations; what no task accounts
  for is reported as idle.
"""

from __future__ import annotations

from collections import defaultdict

from .graph import MEMORY_PROCESSING_STEPS, STEP_NAMES, Step
from .trace import Record, Trace

# a tuple in pipeline order, not a set: float sums must not depend on string hashing
# (PYTHONHASHSEED), or results stop being bit-identical from one process to the next
_MP = tuple(s.value for s in (*MEMORY_PROCESSING_STEPS, Step.TRANSFER))


def union_length(intervals) -> float:
    """Length of the union of ``(start, end)`` intervals.

    >>> union_length([(0, 2), (1, 3), (5, 6)])
    4
    """
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _spans(trace: Trace) -> dict[str, tuple[float, float, str, str]]:
    """name -> (start, end, step, first resource) with transfers merged over their hops."""
    out: dict[str, tuple[float, float, str, str]] = {}
    for r in trace.records:
        if r.name in out:
            s, e, step, res = out[r.name]
            out[r.name] = (min(s, r.start_s), max(e, r.end_s), step, res if r.hop else r.resource)
        else:
            out[r.name] = (r.start_s, r.end_s, r.step, r.resource)
    return out


def critical_path(trace: Trace, spans: dict | None = None) -> list[str]:
    """Task names on the executed critical path, first to last (see module docstring).

    *spans* is ``_spans(trace)`` when the caller has it already."""
    spans = _spans(trace) if spans is None else spans
    if not spans:
        return []
    preds: dict[str, list[str]] = defaultdict(list)
    for u, v in trace.edges:
        preds[v].append(u)
    # (resource, end time) -> names; a task that queued for an engine starts at the very
    # float instant its previous holder released it, so exact lookup finds the holder
    ends_on: dict[tuple[str, float], list[str]] = defaultdict(list)
    for r in trace.records:
        ends_on[(r.resource, r.end_s)].append(r.name)
    # last to finish; ties by name for determinism
    node = max(spans, key=lambda n: (spans[n][1], n))
    path, seen = [node], {node}
    while True:
        start = spans[node][0]
        tol = 1e-12 * max(1.0, abs(start))
        cands = [p for p in preds.get(node, []) if p in spans and spans[p][1] >= start - tol]
        nxt = max(cands, key=lambda p: (spans[p][1], p)) if cands else None
        if nxt is None:
            # waited for its engine/channel: the task that freed it at our start
            for name in ends_on.get((spans[node][3], start), ()):
                if name not in seen:
                    nxt = name
                    break
        if nxt is None:
            # started after a gap: continue from the latest-finishing predecessor
            cands = [p for p in preds.get(node, []) if p in spans]
            nxt = max(cands, key=lambda p: (spans[p][1], p)) if cands else None
        if nxt is None or nxt in seen:
            break
        path.append(nxt)
        seen.add(nxt)
        node = nxt
    return path[::-1]


def summarize(trace: Trace) -> dict:
    """Return the result object (stable keys; see the README)."""
    makespan = trace.makespan_s
    spans = _spans(trace)
    steps = {s: {"busy_s": 0.0, "critical_s": 0.0, "energy_j": 0.0} for s in STEP_NAMES}
    devices = {d: {"busy_s": 0.0, "utilization": 0.0, "used": info.used,
                   "energy_j": info.idle_w * makespan if info.used else 0.0,
                   "idle_energy_j": info.idle_w * makespan if info.used else 0.0, "tasks": 0}
               for d, info in trace.devices.items()}
    links = {c: {"bytes": 0.0, "busy_s": 0.0, "energy_j": 0.0, "transfers": 0}
             for c in trace.channels}
    intervals: dict[str, list] = defaultdict(list)
    extrapolated: list[str] = []
    for r in trace.records:
        d = r.duration_s
        steps[r.step]["busy_s"] += d
        if r.kind == "task":
            info = trace.devices[r.device]
            idle_share = info.idle_w / max(1, len(info.slots))
            steps[r.step]["energy_j"] += idle_share * d + r.energy_j
            dev = devices[r.device]
            dev["energy_j"] += r.energy_j
            dev["tasks"] += 1
            intervals[r.device].append((r.start_s, r.end_s))
            if r.extrapolated:
                extrapolated.append(r.name)
        else:
            steps[r.step]["energy_j"] += r.energy_j
            lk = links[r.resource]
            lk["bytes"] += r.nbytes
            lk["busy_s"] += d
            lk["energy_j"] += r.energy_j
            lk["transfers"] += 1
    for name, dev in devices.items():
        dev["busy_s"] = union_length(intervals[name])
        dev["utilization"] = dev["busy_s"] / makespan if makespan > 0 else 0.0
    cpath = critical_path(trace, spans)
    for p in cpath:
        s, e, step, _ = spans[p]
        steps[step]["critical_s"] += e - s
    link_idle = sum(trace.link_idle_w.values()) * makespan
    energy = (sum(d["energy_j"] for d in devices.values()) + link_idle
              + sum(lk["energy_j"] for lk in links.values()))
    mp = sum(steps[s]["critical_s"] for s in _MP)
    tokens = trace.meta.get("tokens", 1) or 1
    active_extra = sum(r.energy_j for r in trace.records)
    # idle power no step took: >= 0 exactly (a slot runs one task at a time, so the steps take
    # at most idle_w x makespan of a device), but the two sums round apart: -2e-16 J was
    # reported for a device busy the whole run; a residual that small is zero
    unattributed = energy - sum(s["energy_j"] for s in steps.values())
    if -1e-9 * energy <= unattributed < 0:
        unattributed = 0.0
    return {
        "makespan_s": makespan,
        "energy_j": energy,
        "energy_per_token_j": energy / tokens,
        "tokens": tokens,
        "tasks": trace.meta.get("num_tasks", len(spans)),
        "memory_processing_fraction": mp / makespan if makespan > 0 else 0.0,
        "steps": steps,
        "devices": devices,
        "links": links,
        "memory_bytes": dict(trace.memory_bytes),
        "energy_breakdown": {
            "idle_j": energy - active_extra,
            "active_extra_j": active_extra,
            "link_idle_j": link_idle,
            "unattributed_idle_j": unattributed,
        },
        "critical_path_tasks": len(cpath),
        "extrapolated_tasks": extrapolated,
        "mapping": trace.meta.get("mapping"),
        "queue_policy": trace.meta.get("queue_policy"),
    }


def compare(baseline: dict, candidate: dict) -> dict:
    """``{baseline, candidate, speedup, energy_reduction}`` (ratios are baseline / candidate)."""
    return {
        "baseline": baseline,
        "candidate": candidate,
        "speedup": baseline["makespan_s"] / candidate["makespan_s"] if candidate["makespan_s"] else None,
        "energy_reduction": baseline["energy_j"] / candidate["energy_j"] if candidate["energy_j"] else None,
    }


def records_of(trace: Trace, name: str) -> list[Record]:
    """All records of task *name* (a transfer has one per hop)."""
    return [r for r in trace.records if r.name == name]


def ratio_text(v: float | None, what: str, digits: int = 3) -> str:
    """A :func:`compare` ratio as text; None (the candidate's makespan or energy is
    0, e.g. devices with zero power) says so instead of failing to format."""
    if v is not None:
        return f"{v:.{digits}f}x"
    return "n/a (the candidate run takes 0 s)" if what == "speedup" else "n/a (the candidate run uses 0 J)"
