"""Cold price of a pipeline task in its context: a single call right after the tasks that run
before it in the pipeline, replayed (a per-context cold cost).

The table's cold model prices a task as a single call after an evicting stream. How fast a
single call runs depends on what ran just before it, and an evictor does not stand in for
every predecessor chain: top-k over 200K scores after the 614 MB score stream that writes its
input ran 7.5-22% faster after the evictor than in the pipeline but -9..+1.6% after evict +
its producer (issue 15, measured here); top-k over 32K items ran 3-8% faster after the evictor than in the
pipeline and within 1.3% after replaying the pipeline's earlier tasks (measured in
validate's own rounds, 3 processes x 10 rounds). Neither the data a predecessor leaves nor
a generic stream reproduced it (a 300 MB read stream, a generic GEMV, dirtying a few MB after
the evictor), so the context is the pipeline's own predecessor chain, replayed on its own
buffers.

The *window* of task i is the chain of tasks run just before it, walking back from i - 1 until
those tasks move at least the evictor's bytes (their work then evicts the caches by itself, so
what ran before the window no longer shows; bytes as :mod:`hetsim.kernels` counts them) or
the pass starts (then the evictor runs first, as every validation pass starts after it). This
generalises the earlier per-producer factor (a consumer right after its own producer
streaming more than the evictor: the window is that producer alone).

A *short* task (its cold single call priced under :data:`PREFIX_BELOW_S`) is replayed from
the start of its pass instead (the evictor, then every earlier task). A short call's time
depends on more than the caches: decode attention over 274 keys ran 4.1-4.7% faster after its
byte window than after the whole chain before it, in 10 of 11 processes each (issue 15, 100-250
rounds per process on a quiet core), while the whole-chain replay matched its in-pipeline time
(+0.6%, +1.8%); replays that started in the previous prefill layer were within 2.5%, one that
skipped the prefill ran 5.5% fast. The caches are evicted either way (the window streams over
64 MiB), so the state that differs is one earlier work leaves on the core and does not show in
bytes moved. The validation runs showed it as the per-task classes' only misses
(decode attention, 4 of 175 task classes beyond 10%). A long task is left to its byte window: a
prefix costs up to one pass per call, and its few-percent effect is lost in a long call's time.
The table records which tasks were replayed from the start: their context lists the whole
prefix, so :func:`task_factors` finds them by key.

Both sides measure it the same way: ``hetsim calibrate`` records, for every task of the
validation pipelines, its single calls after the evictor and in its window, interleaved over
rounds (their ratio, drift-free, is the table's per-context ``factor``); the simulation prices
a task whose window the table holds at its cold time times that factor
(:func:`context_extra_s`); ``hetsim validate`` re-measures it in its window. The factor is
measured at calibration time, never taken from the validation run it is judged against.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

#: Rounds of the interleaved after-evict / in-context measurement at calibration time.
CONTEXT_ROUNDS = 7

#: A task whose cold single call the table prices under this many seconds is replayed from
#: the start of its pass (see the module docstring); the harness's "short call" bound
#: (:data:`calibration.harness.SHORT_CALL_S`), below which a single call is too short to
#: average out what the machine does around it.
PREFIX_BELOW_S = 2e-3


def context_key(context: list[tuple[str, dict]], kernel: str, shape: dict) -> str:
    return json.dumps([[list(c) for c in context], kernel, shape], sort_keys=True)


def entry_key(e: dict[str, Any]) -> str:
    """The context key of one ``contexts`` entry (as a table stores it)."""
    return context_key([(c["kernel"], c["shape"]) for c in e["context"]],
                       e["consumer"]["kernel"], e["consumer"]["shape"])


def cold_in_context(clock, evict, call, context=(), evict_first: bool = True) -> float:
    """Seconds of one *call* after the evicting stream (unless the *context* calls, run untimed
    in order before it, evict by themselves: *evict_first* False)."""
    clock.sync()
    if evict_first:
        evict()
    for c in context:
        c()
    clock.sync()
    return clock.measure(call)


def _order_tasks(p):
    """(tasks in topological order) of a prepared pass or a task graph."""
    from hetsim.graph import task_of, topological_order

    if hasattr(p, "tasks"):
        return p.tasks
    return [task_of(p, n) for n in topological_order(p)]


def _resolved(task) -> tuple[str, dict]:
    from hetsim.kernels import KERNELS

    return task.kernel, KERNELS[task.kernel].resolve(dict(task.shape))


def prefix(i: int) -> tuple[list[int], bool]:
    """The window of task *i* replayed from the start of its pass: the evictor, then every
    earlier task."""
    return list(range(i)), True


def windows(p, rotate_bytes: int, from_start=frozenset()) -> dict[int, tuple[list[int], bool]]:
    """task index -> (indices of its window, whether the evictor runs first) for every task
    with a non-empty window (see the module docstring); the tasks in *from_start* get their
    whole prefix (:func:`prefix`). *p*: a prepared pass (:class:`calibration.rounds._Pass`) or a
    task graph (same topological order)."""
    from hetsim.kernels import KERNELS

    tasks = _order_tasks(p)
    moved = [KERNELS[t.kernel].work(dict(t.shape))[1] if t.kernel is not None else 0 for t in tasks]
    need = max(int(rotate_bytes), 1)
    out = {}
    for i in range(1, len(tasks)):
        if i in from_start:
            out[i] = prefix(i)
            continue
        j, acc = i, 0
        while j > 0 and acc < need:
            j -= 1
            acc += moved[j]
        out[i] = (list(range(j, i)), acc < need)
    return out


def short_tasks(p, cold_s, below_s: float = PREFIX_BELOW_S) -> set[int]:
    """Indices of the tasks of *p* whose cold single call *cold_s(task)* (seconds, or None when
    the table does not price the task) is under *below_s*: those replayed from the pass start."""
    out = set()
    for i, t in enumerate(_order_tasks(p)):
        s = cold_s(t) if t.kernel is not None else None
        if s is not None and s < below_s:
            out.add(i)
    return out


def task_context_key(tasks, i: int, window: list[int]) -> str:
    return context_key([_resolved(tasks[j]) for j in window], *_resolved(tasks[i]))


def measure_contexts(p, evict, clock, calls_for, rounds: int = CONTEXT_ROUNDS, rotate_bytes: int = 0,
                     seed: int = 0, skip=lambda key, task: False,
                     from_start=frozenset()) -> list[dict[str, Any]]:
    """Per task of pass *p* with a window (and whose key *skip* does not refuse): its single
    calls after the evictor and in its window (the whole prefix for the tasks in
    *from_start*), interleaved over *rounds* in shuffled order; *calls_for(seconds)* = single
    calls per round for a call that long (medianed)."""
    import numpy as np

    seen, todo = set(), {}
    for i, w in windows(p, rotate_bytes, from_start).items():  # one measurement per distinct context
        key = task_context_key(p.tasks, i, w[0])
        if key not in seen and not skip(key, p.tasks[i]):
            seen.add(key)
            todo[i] = w
    if not todo:
        return []
    rng = np.random.default_rng(seed)
    samples = {i: {"evict": [], "context": []} for i in todo}
    ncalls = {}
    for _ in range(rounds):
        for i in rng.permutation(sorted(todo)):
            i = int(i)
            win, evict_first = todo[i]
            ctx = [p.calls[j] for j in win]
            for mode in rng.permutation(["evict", "context"]):
                args = (ctx, evict_first) if mode == "context" else ((), True)
                samples[i][mode].append(statistics.median(
                    cold_in_context(clock, evict, p.calls[i], *args) for _ in range(ncalls.get(i, 1))))
            if i not in ncalls:  # first round: size the later rounds' call count
                ncalls[i] = calls_for(statistics.median(samples[i]["evict"]))
    out = []
    for i, (win, evict_first) in sorted(todo.items()):
        k, s = _resolved(p.tasks[i])
        ev, cx = statistics.median(samples[i]["evict"]), statistics.median(samples[i]["context"])
        out.append({"context": [dict(zip(("kernel", "shape"), _resolved(p.tasks[j]))) for j in win],
                    "consumer": {"kernel": k, "shape": s}, "evict_first": evict_first,
                    "cold_after_evict_s": ev, "cold_in_context_s": cx,
                    "factor": cx / ev if ev > 0 else 1.0, "rounds": rounds, "calls": ncalls.get(i, 1)})
    return out


def context_factors(table_data: dict) -> dict[str, float]:
    """context key -> the table's factor (cold in context / cold after evict)."""
    return {entry_key(e): float(e["factor"]) for e in table_data.get("contexts") or ()}


def task_factors(p, table_data: dict, rotate_bytes: int) -> dict[int, tuple[list[int], bool, float]]:
    """task index -> (window, evictor first, the table's factor) for the tasks of pass (or
    graph) *p* whose context the table prices (the others keep the plain cold model): the
    whole prefix where the table measured the task from the pass start, else its byte window
    (a table records the context it measured, so the rule that chose it is not needed here)."""
    known = context_factors(table_data)
    if not known:
        return {}
    resolved = [_resolved(t) if t.kernel is not None else None for t in _order_tasks(p)]
    out = {}
    for i, window in windows(p, rotate_bytes).items():
        for win, evict_first in (prefix(i), window):
            key = context_key([resolved[j] for j in win], *resolved[i])
            if key in known:
                out[i] = (win, evict_first, known[key])
                break
    return out


def table_rotate_bytes(table_data: dict) -> int:
    """The evictor's bytes a table's contexts were measured with."""
    cold = (table_data.get("provenance") or {}).get("cold") or {}
    mem = (table_data.get("provenance") or {}).get("memory_state") or {}
    return int(cold.get("evict_bytes") or mem.get("rotate_bytes") or 0)


def context_extra_s(graph, table) -> float:
    """Seconds the table's per-context factors add to *graph*'s tasks over their plain cold
    prices: sum of (factor - 1) x cold price. The engine prices a task by its kernel and
    shape alone, so the simulation of a validation pipeline (run serially on one engine) adds
    this to its makespan."""
    rb = table_rotate_bytes(table.data)
    if not rb:
        return 0.0
    tasks = _order_tasks(graph)
    extra = 0.0
    for i, (_, _, f) in task_factors(graph, table.data, rb).items():
        t = tasks[i]
        extra += (f - 1.0) * table.predict(t.kernel, dict(t.shape), cold=True)[0]
    return extra


__all__ = ["windows", "prefix", "short_tasks", "measure_contexts", "context_factors", "task_factors", "context_extra_s",
           "cold_in_context", "entry_key", "table_rotate_bytes", "CONTEXT_ROUNDS", "PREFIX_BELOW_S"]
