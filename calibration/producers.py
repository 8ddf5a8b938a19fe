"""Cold price of a consumer right after its streaming producer (a per-predecessor cold cost).

The table's cold model prices a pipeline task as a single call after an evicting stream. When
the task that runs just before it in the pipeline is its own producer and streams at least as
many bytes as that evictor, the producer *is* the evicting stream the task runs after, and a
synthetic one does not stand in for it: top-k over 200K scores after the 614 MB score
(inner-product) stream that writes its input ran 7.5-22% faster as a single call after the
evictor than in the pipeline, but -9..+1.6% after evict + its producer (4 runs of 15 reps,
isolated core; ``/tmp/cal15d/predx.py``, ``predy.py`` of the cal15d note). Neither the data the
producer leaves (the same kernel on another allocation, which does not write top-k's input,
gave -3.8% and +4.9%) nor the stream itself (a 300 MB read stream -3..-21%, a generic 300 MB
GEMV -19..-20%, dirtying 0.8-4 MB after the evictor -18..-24%) reproduced it: the effect is
specific to the producer, so it is measured per (producer, consumer) pair.

Both sides measure it the same way: ``hetsim calibrate`` records, for every such pair of the
validation pipelines, the consumer's single calls after the evictor and after the evictor plus
its producer, interleaved (their ratio, drift-free, is the table's per-predecessor factor);
``hetsim validate`` prices the consumer at the table's cold time times that factor and
re-measures it after its producer.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

#: Rounds of the interleaved after-evict / after-producer measurement at calibration time.
AFTER_PRODUCER_ROUNDS = 9


def pair_key(producer_kernel: str, producer_shape: dict, kernel: str, shape: dict) -> str:
    return json.dumps([producer_kernel, producer_shape, kernel, shape], sort_keys=True)


def entry_key(e: dict[str, Any]) -> str:
    """The pair key of one ``after_producer`` entry (as a table stores it)."""
    return pair_key(e["producer"]["kernel"], e["producer"]["shape"],
                    e["consumer"]["kernel"], e["consumer"]["shape"])


def cold_single_call(clock, evict, call, before=None) -> float:
    """Seconds of one *call* after the evicting stream (and *before*, its producer, untimed)."""
    clock.sync()
    evict()
    if before is not None:
        before()
    clock.sync()
    return clock.measure(call)


def streaming_producers(p, rotate_bytes: int) -> dict[int, int]:
    """consumer index -> producer index, for every task run right after its own producer when
    that producer's work moves at least *rotate_bytes* (the evictor's footprint: it evicts
    the caches by itself; bytes as :mod:`hetsim.kernels` counts them). *p*: a prepared pass
    (:class:`calibration.rounds._Pass`) or a task graph (same topological order)."""
    from hetsim.graph import task_of, topological_order
    from hetsim.kernels import KERNELS

    if hasattr(p, "producers"):
        order, tasks, preds = p.order, p.tasks, p.producers
    else:
        order = topological_order(p)
        tasks = [task_of(p, n) for n in order]
        preds = {n: set(p.predecessors(n)) for n in order}
    out = {}
    for i in range(1, len(order)):
        u, v = order[i - 1], order[i]
        if u in preds.get(v, ()) and tasks[i - 1].kernel is not None:
            _, nbytes = KERNELS[tasks[i - 1].kernel].work(dict(tasks[i - 1].shape))
            if nbytes >= max(int(rotate_bytes), 1):
                out[i] = i - 1
    return out


def _resolved(task) -> tuple[str, dict]:
    from hetsim.kernels import KERNELS

    return task.kernel, KERNELS[task.kernel].resolve(dict(task.shape))


def measure_after_producers(p, evict, clock, calls_for, rounds: int = AFTER_PRODUCER_ROUNDS,
                            rotate_bytes: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    """Per streaming (producer, consumer) pair of pass *p*: the consumer's single calls after
    the evictor and after the evictor plus its producer, interleaved over *rounds* in shuffled
    order; *calls_for(seconds)* = single calls per round for a call that long (medianed)."""
    import numpy as np

    pairs = streaming_producers(p, rotate_bytes)
    if not pairs:
        return []
    rng = np.random.default_rng(seed)
    samples = {i: {"evict": [], "producer": []} for i in pairs}
    ncalls = {}
    for r in range(rounds):
        for i in rng.permutation(sorted(pairs)):
            i = int(i)
            for mode in rng.permutation(["evict", "producer"]):
                before = p.calls[pairs[i]] if mode == "producer" else None
                samples[i][mode].append(statistics.median(
                    cold_single_call(clock, evict, p.calls[i], before) for _ in range(ncalls.get(i, 1))))
            if i not in ncalls:  # first round: size the later rounds' call count
                ncalls[i] = calls_for(statistics.median(samples[i]["evict"]))
    out = []
    for i, j in sorted(pairs.items()):
        (pk, ps), (k, s) = _resolved(p.tasks[j]), _resolved(p.tasks[i])
        ev, pr = statistics.median(samples[i]["evict"]), statistics.median(samples[i]["producer"])
        out.append({"producer": {"kernel": pk, "shape": ps}, "consumer": {"kernel": k, "shape": s},
                    "cold_after_evict_s": ev, "cold_after_producer_s": pr,
                    "factor": pr / ev if ev > 0 else 1.0, "rounds": rounds, "calls": ncalls.get(i, 1)})
    return out


def producer_factors(table_data: dict) -> dict[str, float]:
    """pair key -> the table's after-producer factor (cold after producer / cold after evict)."""
    out = {}
    for e in table_data.get("after_producer") or ():
        out[entry_key(e)] = float(e["factor"])
    return out


def task_factors(p, table_data: dict, rotate_bytes: int) -> dict[int, tuple[int, float]]:
    """consumer index -> (producer index, the table's factor) for the streaming pairs of pass
    *p* that the table prices (pairs it has no entry for keep the plain cold model)."""
    known = producer_factors(table_data)
    out = {}
    for i, j in streaming_producers(p, rotate_bytes).items():
        key = pair_key(*_resolved(p.tasks[j]), *_resolved(p.tasks[i]))
        if key in known:
            out[i] = (j, known[key])
    return out


__all__ = ["streaming_producers", "measure_after_producers", "producer_factors", "task_factors",
           "cold_single_call", "entry_key", "AFTER_PRODUCER_ROUNDS"]
