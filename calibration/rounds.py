"""Drift-cancelling validation: real pipeline passes interleaved with a same-round
re-measurement of their kernels.

Why: on a shared machine the speed drifts by 10-20% within the hour while the guest sees no
steal and no frequency change, so "simulated (priced by a table made earlier) vs measured
(now)" mixes two things: the model's error and how much the machine changed. Each round here

1. runs the pipeline for real (one pass, every task timed on the device clock),
2. re-measures every task of the pipeline the way the table priced it: alone, as single
   calls after an evicting stream (the table's ``cold_s``; as many calls as calibration made
   for a call that long) or, where the table holds the task's context, right after its
   predecessor chain replayed (:mod:`calibration.contexts`), in shuffled order, on the pass's
   own buffers,
3. runs the pipeline again.

Re-measuring the tasks themselves rather than one copy per shape matters twice: a shape the
pipeline runs three times gets three samples a round, as it weighs three times in the sum
(with one sample per shape, one slow phase of the 470 MB o_proj weight decided a DSA run's
drift); and both sides read the same memory, so how fast a given buffer streams (its
physical placement, which differs between allocations on this VM) cancels too. How single
calls compare with the pipeline still depends on the allocation (a few points on RAG; a
five-run set's spread of 5-7.5 points with one allocation per run fell to 2-3.5 with three),
so a run uses :data:`ALLOCATIONS` separately allocated copies of the pipeline's buffers, one
per batch-means block of consecutive rounds: the allocations' effects are then what the block
means differ by, and the interval samples them (cycled round by round, as before, they
averaged out inside every block and the standard error missed them). Each copy is made by
copying the previous one just before its block (1-2 s; building one afresh took 10-30 s).

On a CPU each block also runs in its own short-lived child process, the pipelines built
afresh there (:data:`BLOCK_PROCESSES`): the run-to-run spread left after that was constant
within a process and uncorrelated between runs, so a process's effect must differ between
blocks for the interval to see it. A long task is re-measured with at least
:data:`LONG_REMEASURE_CALLS` single calls a round (their median), so one stalled call does
not decide a round.

Each round runs :data:`PASSES_PER_ROUND` real passes, interleaved with the re-measurement
(pass, a chunk of the shuffled single calls, pass, ..., pass), so both sides sample the same
seconds of the host's memory-bandwidth phases. The round's measured time is the sum of every
task's median over the round's passes (linear drift cancels; one preempted call moves a
median, not the sum); the round's *drift* is how much slower the re-measured single calls
are than the table's, weighted by the pipeline's tasks; the round's *drift-corrected* error
is the table's prediction times (1 + drift) against the measured time.

:func:`validate_rounds` interleaves the pipelines round by round (round r of each, then round
r + 1), so every pipeline's rounds span the whole run. Why: in a quiet window the runs of a
five-run set scattered by about twice what their rounds predicted (RAG run means 1.7 points
against 0.9), a component on a scale of minutes; with the pipelines run one after the other
each pipeline's rounds sampled half the run. Over the rounds, the headline figure is the mean
of the rounds' figures with batch-means intervals (:func:`calibration.stats.repeat_interval`:
the rounds in time order cut into blocks of consecutive rounds, Student-t on the spread of the
block means): shown, the range the figures of four further back-to-back runs are expected in,
95% simultaneous (``lo``, ``hi``; a multivariate-t factor on the standard error, so a
five-run set's spread, not one repeat); the single-repeat interval (``repeat_lo``,
``repeat_hi``); and the 95% confidence interval of the run's own figure (``ci_lo``,
``ci_hi``; a run claims its figure only when that is within 10 points). Why this estimator: neighbouring rounds are correlated by the drift, so an interval
that treats rounds as independent draws is too narrow; re-scored offline on six stored
five-run sets, the single-repeat intervals held all five figures of their set in 52 of 60 runs
with batch means against 42 of 60 with the 20%-trimmed mean and independent rounds used before, and 8 of
30 with bootstrap intervals of pooled medians. A component constant over a whole run is
still invisible to any within-run interval. ``series.started_s`` records when each round
began (seconds from the run's start) and ``rounds_span_s`` how much of the run they span.
The pooled-medians figures (sum of every task's median in-pipeline time vs the sum of every
task's median re-measured call, block bootstrap over allocations and rounds) stay under
``pooled`` and the order-statistic medians under ``paired``. Single calls, not loops: on an
oversubscribed machine a tight loop of small multi-threaded calls stalls at every barrier far
more often than one call in a pipeline does (observed here: 5x for sub-millisecond GEMMs at
load average 10), so a loop would measure the loop, not the machine's speed for this pipeline.

Machine-state probes (:mod:`calibration.probes`) run at the start, the middle and the end
and are compared with the table's. Threads are pinned to the table's recorded count. Each
round also records the share of its time this process's threads spent waiting for a CPU
(:class:`calibration.clock.RunDelay`): a multi-threaded kernel whose worker waits for a core
held by another process measures the queue (at 2 threads and load average 8 here the
process waited 64% of the time and single GEMV calls ranged 0.2-2x their in-pipeline time),
so a run that waited more than :data:`MAX_WAITED_FRACTION` is marked unreliable.

Data flows between the kernels of a pass: an edge's producer output is the consumer's input
buffer whenever shape and dtype match (activations between projections), and top-k indices
feed the gathers of a batch-1 sparse attention; other inputs stay random (``data_edges``
counts the wired edges).
"""

from __future__ import annotations

import math
import os
import statistics
import time

import numpy as np
from pathlib import Path
from typing import Any, Callable

from hetsim.costs.tables import KernelTable, read_table
from hetsim.graph import task_of, topological_order
from hetsim.kernels import KERNELS

from .contexts import cold_in_context, context_extra_s, table_rotate_bytes, task_factors
from .stats import MAX_CLAIM_WIDTH, block_bounds, claimable, median_ci, repeat_interval

#: Within-run change of the machine's speed (median drift of the first vs the second half of
#: the rounds) above which a run is marked unreliable: the rounds no longer sample one
#: machine state.
MAX_WITHIN_RUN_SPEED_CHANGE = 0.25
#: Median share of a round that this process's threads spent waiting for a CPU
#: (:class:`calibration.clock.RunDelay`) above which a run is marked unreliable: the timings
#: then include the queue for the cores, not only the kernels.
MAX_WAITED_FRACTION = 0.05
#: Separately allocated copies of a pipeline's buffers (and of its evicting stream) per run:
#: one per batch-means block (:func:`calibration.stats.block_bounds`), each running its block's
#: consecutive rounds. Why: if how fast single calls run against the pipeline depends on the
#: allocation, the effect is then what the block means differ by and the interval samples it
#: (cycled over rounds, as before, it averaged inside every 2-round block and the batch-means
#: standard error missed it). Evidence: a one-way ANOVA by allocation pooled over the 15 RAG
#: runs of three five-run sets with 3 allocations cycled per run (cal15f) gave F = 1.59 on
#: (30, 105) df, ~2.1 points SD; on 15 runs with this design the block (= allocation) means
#: differed no more than their rounds predict (F = 0.61 on (60, 75), DSA 0.91; cal15g), so
#: the allocation is at most a small part of RAG's run-to-run spread. The copies are made by copying the previous one
#: (same values, fresh pages) just before its block, and the previous one is freed then:
#: at most two are alive (a DSA copy is 3.3 GB).
ALLOCATIONS = 5
#: Run each batch-means block of rounds in its own short-lived child process (CPU only), with
#: the pipelines built afresh there. Why: in three five-run sets (cal15g) the run-to-run spread
#: of RAG's figure was constant within a run and uncorrelated between consecutive runs, with
#: no allocation effect inside a process (ANOVA by allocation F = 0.61 RAG, 0.91 DSA): a
#: per-process effect, which an interval computed inside one process cannot see. With a process
#: per block the block means differ by it and the batch-means interval samples it. Building in
#: the child costs about what copying an allocation did (DSA 9 s, RAG 1-2 s) plus the
#: interpreter's start-up.
BLOCK_PROCESSES = True
#: Fewest re-measured single calls per task and round, spread over the round's chunks (one
#: in three of the chunks); the round keeps their median. Why: a long call (>= 2 ms) was
#: re-measured once a round, so one stalled call (222 ms over its median, seen in two runs of
#: cal15g) moved the round's drift by several points and, the batch means being means, the
#: run's figure (DSA +9.3%, RAG +6.1%). The median of three ignores one stall. Cost: the long
#: calls are ~0.2 s of a pipeline's ~8 s round here (the short calls' context replays dominate).
LONG_REMEASURE_CALLS = 3
#: Default rounds (>= 10 for a 95% order-statistic interval with one round left out each side).
DEFAULT_ROUNDS = 10
#: Real pipeline passes per round, interleaved with the round's re-measurements (before,
#: between and after equal chunks of them). Why: one pass samples ~0.2 s of the machine and
#: single passes here differ by 7-26% (sd of log) between the two ends of a round, while the
#: re-measured sum, spread over seconds, varies 2-8%; the in-pipeline side dominated the
#: round-to-round noise. Passes interleaved with the re-measurements sample the same seconds.
#: Eight, not four: a short task's single call in the pass varies by 20-40% (sd of log) from
#: one pass to the next, as much as a re-measured single call, and a pass costs what about two
#: re-measured calls of a decode-step task cost once those replay the pass from its start
#: (:mod:`calibration.contexts`), so passes are the cheaper half of the per-task noise to cut.
PASSES_PER_ROUND = 8


def _key(kernel: str, shape: dict) -> str:
    import json

    return kernel + json.dumps(shape, sort_keys=True)


def _outputs(res, torch) -> list:
    if isinstance(res, torch.Tensor):
        return [res]
    if isinstance(res, (tuple, list)):
        return [r for r in res if isinstance(r, torch.Tensor)]
    return []


class _Pass:
    """A pipeline prepared for real execution: one call per task, data wired along edges."""

    def __init__(self, graph, device: str, torch, seed: int):
        from .kernels import prepare

        self.torch = torch
        gen = torch.Generator().manual_seed(seed)
        self.order = topological_order(graph)
        self.tasks = [task_of(graph, n) for n in self.order]
        self.producers = {n: set(graph.predecessors(n)) for n in self.order}
        self.inputs = {}
        self.impls = {}
        for n, t in zip(self.order, self.tasks):
            impl, inputs = prepare(t.kernel, dict(t.shape), device, gen)
            self.impls[n], self.inputs[n] = impl, inputs
        self.data_edges, self.edges = self._wire(graph)
        self.calls = [self._call(n) for n in self.order]

    def copy(self) -> "_Pass":
        """The same pipeline on freshly allocated buffers: every tensor's storage copied once
        (aliases -- outputs wired as inputs, views -- stay aliases), so the values are the
        same and only where the buffers sit in memory differs."""
        torch = self.torch
        new = object.__new__(_Pass)
        new.torch, new.order, new.tasks, new.producers = torch, self.order, self.tasks, self.producers
        new.impls, new.data_edges, new.edges = self.impls, self.data_edges, self.edges
        stores: dict[int, Any] = {}

        def dup(x):
            if isinstance(x, torch.Tensor):
                st = x.untyped_storage()
                if st.data_ptr() not in stores:
                    stores[st.data_ptr()] = st.clone()
                return torch.empty(0, dtype=x.dtype, device=x.device).set_(
                    stores[st.data_ptr()], x.storage_offset(), x.size(), x.stride())
            if isinstance(x, (list, tuple)):
                return type(x)(dup(y) for y in x)
            return x

        with torch.inference_mode():
            new.inputs = {n: {k: dup(v) for k, v in ins.items()} for n, ins in self.inputs.items()}
        new.calls = [new._call(n) for n in new.order]
        return new

    def _call(self, n):
        run, inputs = self.impls[n].run, self.inputs[n]
        return lambda: run(inputs)

    def touch(self, times: int = 2) -> None:
        """Run every call *times* times, untimed: the first touches of every buffer on this
        path (page faults, allocator growth) stay out of the timed rounds."""
        with self.torch.inference_mode():
            for _ in range(times):
                for c in self.calls:
                    c()

    def _wire(self, graph) -> tuple[int, int]:
        """Make producers' output buffers their consumers' inputs where shapes agree."""
        torch = self.torch
        outs = {}
        with torch.inference_mode():
            for n in self.order:
                outs[n] = _outputs(self.impls[n].run(self.inputs[n]), torch)
        wired = 0
        for u, v in graph.edges:
            own = {o.data_ptr() for o in outs[v]}
            done = False
            for o in outs[u]:
                for key, val in list(self.inputs[v].items()):
                    if not isinstance(val, torch.Tensor) or val.data_ptr() in own:
                        continue
                    if val.shape == o.shape and val.dtype == o.dtype and o.is_floating_point():
                        self.inputs[v][key] = o
                        done = True
                        break
                    if (key == "flat_idx" and not o.is_floating_point() and o.numel() == val.numel()
                            and self.inputs[v]["idx"].shape[0] == 1
                            and int(o.max()) < self.inputs[v]["cache"].shape[1]):
                        self.inputs[v][key] = o.view(-1)  # top-k picks the rows gathered
                        done = True
                        break
                if done:
                    break
            wired += done
        return wired, graph.number_of_edges()

    def release(self) -> None:
        self.inputs.clear()
        self.calls = []


def _allocations(p: "_Pass", device: str, wanted: int | None, rounds: int) -> int:
    """How many allocations of the pipeline's buffers a run uses, one per block of consecutive
    rounds (see :data:`ALLOCATIONS`): as many as the batch-means blocks, when a second copy
    fits in half the available memory."""
    if wanted is not None:
        return len(block_bounds(rounds, max(1, int(wanted)))) - 1
    want = len(block_bounds(rounds, ALLOCATIONS)) - 1
    if device != "cpu":
        return 1  # device memory: one copy (the GPU paths cannot be run here)
    from .kernels import inputs_nbytes

    need = sum(inputs_nbytes(x) for x in p.inputs.values())
    try:
        with open("/proc/meminfo") as fh:
            avail = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return 1
    return want if need <= 0.5 * avail else 1


def allocation_of_round(r: int, rounds: int, allocations: int) -> int:
    """Which allocation round *r* of *rounds* runs on: consecutive rounds share one, in the
    blocks :func:`calibration.stats.block_bounds` cuts (the batch-means blocks when
    *allocations* is their number)."""
    bounds = block_bounds(rounds, allocations)
    return max(j for j in range(len(bounds) - 1) if bounds[j] <= r)


def chunk_plan(rng, ncold: list[int], nchunks: int) -> list[list[tuple[int, int]]]:
    """Which tasks' single calls (task, calls) each of the *nchunks* re-measurement chunks
    between a round's passes holds. A task re-measured with one call (a long one) goes into
    one chunk, the tasks spread evenly over the chunks in shuffled order; a task with several
    calls has exactly that many, spread over the chunks (every chunk when there are at least
    as many calls as chunks; shares differ by at most one), so its re-measurement samples the
    same seconds as the passes around it. Why: calls of a few hundred us (decode attention, top-k over 32K
    items) ran 0.5-2x their median from one pass of a round to the next with the host's
    memory phases; with all its calls in one chunk, a short task's re-measurement sampled one
    moment of the round against the passes' four, and its per-task error scattered by +-10-20%."""
    nchunks = max(1, int(nchunks))
    out: list[list[tuple[int, int]]] = [[] for _ in range(nchunks)]
    order = [int(i) for i in rng.permutation(len(ncold))]
    longs = [i for i in order if ncold[i] <= 1]
    for j, part in enumerate(np.array_split(np.asarray(longs, dtype=int), nchunks)):
        out[j] += [(int(i), 1) for i in part]
    for i in order:
        n = int(ncold[i])
        if n > 1:  # n calls in all, as even as the chunks allow, the larger shares at random
            base, extra = divmod(n, nchunks)
            more = set(int(j) for j in rng.permutation(nchunks)[:extra])
            for j in range(nchunks):
                if base + (j in more):
                    out[j].append((i, base + (j in more)))
    for chunk in out:  # shuffle within a chunk, so no task always runs first or last
        chunk[:] = [chunk[k] for k in rng.permutation(len(chunk))]
    return out


def _table_prices(table: KernelTable, tasks) -> tuple[list[float], list[float]]:
    """Per task: the table's warm per-call time and its cold (priced) single-call time."""
    warm = [table.predict(t.kernel, dict(t.shape), cold=False)[0] for t in tasks]
    cold = [table.predict(t.kernel, dict(t.shape), cold=True)[0] for t in tasks]
    return warm, cold


class _PipelineRounds:
    """One pipeline's validation state, advanced a round at a time so that
    :func:`validate_rounds` can interleave the pipelines round by round (see the module
    docstring); :meth:`result` turns the recorded rounds into the pipeline's figures."""

    def __init__(self, name: str, graph, table: KernelTable, device: str, torch, threads: int,
                 rounds: int, rotate_bytes: int, seed: int = 0, power=None,
                 allocations: int | None = None, passes_per_round: int = PASSES_PER_ROUND,
                 t0: float | None = None, rng_seed=None):
        from .clock import Clock, Evictor, RunDelay
        from .harness import _PowerWindows, cold_calls
        from .validate import simulate_pipeline

        self.name, self.torch, self.threads, self.rounds, self.seed = name, torch, threads, rounds, seed
        self.clock = Clock(device, torch)
        self.simulated_s, self.extrapolated = simulate_pipeline(graph, table)
        p = _Pass(graph, device, torch, seed)
        # the other allocations are copied just before their block of rounds (see :meth:`_pass_for`)
        self.passes, self.alloc_index, self.rotate_bytes = [p], 0, rotate_bytes
        self.nalloc = _allocations(p, device, allocations, rounds)
        self.graph, self.device = graph, device
        self.warm_tab, self.cold_tab = _table_prices(table, p.tasks)
        # a task whose context (the predecessor chain replayed before it) the table holds is
        # priced at its cold time times the table's per-context factor, and re-measured in that
        # context (see calibration.contexts); the engine prices tasks one by one, so
        # simulate_pipeline adds the extra to the serial makespan
        self.contexts = task_factors(p, table.data, table_rotate_bytes(table.data) or rotate_bytes)
        for i, (_, _, f) in self.contexts.items():
            self.cold_tab[i] *= f
        self.context_extra_s = context_extra_s(graph, table)
        # single calls per task and round: as many as calibration made for a call this long,
        # and at least LONG_REMEASURE_CALLS (see there)
        self.ncold = [max(cold_calls(c), LONG_REMEASURE_CALLS) for c in self.cold_tab]
        self.evict = Evictor(torch, device, rotate_bytes)
        self.npasses = max(2, int(passes_per_round))
        self.power = power or _PowerWindows(None)
        self.pass_windows = []
        self.totals, self.drifts, self.waited, self.started_s, self.pids = [], [], [], [], []
        self.per_task = [[] for _ in p.tasks]
        self.remeasured = [[] for _ in p.tasks]
        self.delay = RunDelay()
        self.rng = np.random.default_rng(seed if rng_seed is None else rng_seed)
        self.t0 = time.perf_counter() if t0 is None else t0
        self.data_edges, self.edges = p.data_edges, p.edges
        self.tasks, self.task_names = p.tasks, list(p.order)
        p.touch()
        self.clock.sync()

    def _pass_for(self, r: int) -> "_Pass":
        """The allocation round *r* runs on (:func:`allocation_of_round`: one per block of
        consecutive rounds). A new one is copied from the current one, touched (untimed) and
        given its own evicting stream just before its block; the old one is freed then."""
        from .clock import Evictor

        j = allocation_of_round(r, self.rounds, self.nalloc)
        while self.alloc_index < j:
            q = self.passes[-1].copy()
            q.touch()
            self.evict = Evictor(self.torch, self.device, self.rotate_bytes)
            self.passes[-1].release()
            self.passes = [q]
            self.alloc_index += 1
        return self.passes[-1]

    def round(self, r: int) -> None:
        """Run round *r*: passes interleaved with chunks of the shuffled re-measurement."""
        from .clock import waited_fraction

        clock, evict = self.clock, self.evict
        p = self._pass_for(r)  # one allocation per block of consecutive rounds
        clock.sync()
        d0, t0 = self.delay.read(), time.perf_counter()
        self.started_s.append(t0 - self.t0)
        self.pids.append(os.getpid())
        # every task alone, after an evicting stream (or in its context), shuffled; the
        # re-measurements are split into chunks with a pass before, between and after them, so
        # both sides sample the same seconds of the machine's memory-bandwidth phases
        chunks = chunk_plan(self.rng, self.ncold, self.npasses - 1)
        samples = [[] for _ in p.calls]
        pass_each = []
        with self.torch.inference_mode():
            for j in range(self.npasses):
                clock.sync()
                evict()  # every pass starts as a pipeline would: after other work
                clock.sync()
                w0 = self.power.begin()
                _, each = clock.measure_each(p.calls)
                self.pass_windows.append(self.power.end(w0))
                pass_each.append(each)
                for i, e in enumerate(each):
                    self.per_task[i].append(e)
                for i, calls in (chunks[j] if j < self.npasses - 1 else ()):
                    # in its context where the table prices one, as in the pipeline
                    win, first, _ = self.contexts.get(i, ((), True, 1.0))
                    ctx = [p.calls[k] for k in win]
                    samples[i] += [cold_in_context(clock, evict, p.calls[i], ctx, first) for _ in range(calls)]
        round_remeasured = [statistics.median(x) for x in samples]
        for i, x in enumerate(round_remeasured):
            self.remeasured[i].append(x)
        # the round's pipeline time: every task's median over the round's passes (one
        # preempted call moves a median, not the sum)
        self.totals.append(sum(statistics.median(e[i] for e in pass_each) for i in range(len(p.calls))))
        now = sum(x[-1] for x in self.remeasured)
        self.drifts.append(now / sum(self.cold_tab) - 1.0)
        self.waited.append(waited_fraction(d0, self.delay.read(), time.perf_counter() - t0, self.threads))

    def release(self) -> None:
        for q in self.passes:
            q.release()
        self.passes = []

    #: What a block's child process sends back: the records and what :meth:`result` needs,
    #: not the buffers, the clock or the torch module.
    _LOCAL = ("torch", "clock", "passes", "evict", "power", "delay", "rng", "graph")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._LOCAL}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.passes, self.torch, self.graph = [], None, None

    def extend(self, other: "_PipelineRounds") -> None:
        """Append the rounds *other* (the same pipeline, a later block run in its own process)
        recorded to this state's."""
        for k in ("pass_windows", "totals", "drifts", "waited", "started_s", "pids"):
            getattr(self, k).extend(getattr(other, k))
        for mine, theirs in ((self.per_task, other.per_task), (self.remeasured, other.remeasured)):
            for a, b in zip(mine, theirs):
                a.extend(b)

    def result(self) -> dict[str, Any]:
        """The pipeline's figures from the rounds run so far (see the module docstring)."""
        self.release()
        rounds, npasses, tasks = len(self.totals), self.npasses, self.tasks
        simulated_s, warm_tab, cold_tab = self.simulated_s, self.warm_tab, self.cold_tab
        per_task, remeasured, drifts, totals = self.per_task, self.remeasured, self.drifts, self.totals
        table_sum = sum(cold_tab)
        err_table = [simulated_s / m - 1.0 for m in totals]
        err_corr = [simulated_s * (1.0 + d) / m - 1.0 for d, m in zip(drifts, totals)]
        # pooled over rounds (robust to single preempted calls): every task's median in-pipeline
        # time, every task's median re-measured single call, 95% bootstrap interval over rounds
        inpipe_arr = np.asarray(per_task, dtype=float).reshape(len(tasks), rounds, npasses)
        rem_arr = np.asarray(remeasured, dtype=float)
        nalloc = min(self.nalloc, max(1, rounds))
        pooled = pooled_errors(inpipe_arr, rem_arr, np.arange(len(tasks)), np.asarray(cold_tab),
                               simulated_s, seed=self.seed, groups=nalloc)
        # per task: in-pipeline time vs the table's (cold) price and the drift-corrected price
        task_rows = []
        for i, t in enumerate(tasks):
            inpipe = per_task[i]
            # the table's cold price scaled by this shape's drift in the round = the round's own
            # single-call time; without cold modelling: the warm price scaled by the same drift
            at = [statistics.median(inpipe[npasses * r:npasses * (r + 1)]) for r in range(rounds)]
            corr = [remeasured[i][r] / at[r] - 1.0 for r in range(rounds)]
            corr_warm = [warm_tab[i] * remeasured[i][r] / cold_tab[i] / at[r] - 1.0 for r in range(rounds)]
            task_rows.append({
                "task": str(self.task_names[i]), "kernel": t.kernel,
                "shape": KERNELS[t.kernel].resolve(dict(t.shape)),
                "in_pipeline_s": statistics.median(inpipe),
                "table_warm_s": warm_tab[i], "table_cold_s": cold_tab[i],
                "remeasured_cold_s": statistics.median(remeasured[i]),
                "error_corrected": median_ci(corr), "error_corrected_warm_only": median_ci(corr_warm),
                "series_in_pipeline_s": list(inpipe), "series_remeasured_cold_s": list(remeasured[i])})
        # headline: per-round figures in time order -> batch means over blocks of consecutive
        # rounds and the interval a repeat run's figure falls in (see
        # :func:`calibration.stats.repeat_interval` for why blocks, not independent rounds)
        ci_corr = repeat_interval(err_corr)
        ci_tab = repeat_interval(err_table)
        ci_drift = repeat_interval(drifts)
        reasons = []
        change = step_change(drifts)
        waited = self.waited
        wait_ci = median_ci([w for w in waited if w is not None])
        if wait_ci["median"] is not None and wait_ci["median"] > MAX_WAITED_FRACTION:
            reasons.append(f"this process waited for a CPU {wait_ci['median']:.0%} of its threads' time "
                           f"(median round; max {max(w for w in waited if w is not None):.0%}): other "
                           "processes compete for its cores, so the timings include the queue")
        if change > MAX_WITHIN_RUN_SPEED_CHANGE:
            reasons.append(f"machine speed changed by {change:.0%} between the first and the second "
                           "half of the run: the rounds do not sample one machine state")
        # a claim about the error needs its confidence interval (the uncertainty of this run's
        # figure) narrow; the wider repeat interval is what the figure of a rerun may show
        conf = {**ci_corr, "lo": ci_corr["ci_lo"], "hi": ci_corr["ci_hi"]}
        if not claimable(conf):
            reasons.append(f"drift-corrected error 95% confidence interval [{conf['lo']:+.1%}, {conf['hi']:+.1%}] "
                           f"is wider than {MAX_CLAIM_WIDTH:.0%} (or too few rounds): too wide to claim a number")
        started = self.started_s
        return {
            "pipeline": self.name, "tasks": len(tasks), "rounds": rounds, "allocations": nalloc,
            "block_processes": getattr(self, "block_processes", 0),
            "simulated_s": simulated_s, "table_sum_cold_s": table_sum, "table_sum_warm_s": sum(warm_tab),
            "extrapolated_tasks": len(self.extrapolated), "data_edges": self.data_edges, "edges": self.edges,
            "measured_s": median_ci(totals), "passes_per_round": npasses,
            "rounds_span_s": (started[-1] - started[0]) if started else 0.0,
            "contexts": [{"task": str(self.task_names[i]),
                          "context": [str(self.task_names[k]) for k in win],
                          "evict_first": first, "factor": f, "from_pass_start": win == list(range(i))}
                         for i, (win, first, f) in sorted(self.contexts.items())],
            "context_extra_s": self.context_extra_s,
            "pooled": pooled,
            "drift": ci_drift, "error_vs_table": ci_tab, "error_corrected": ci_corr,
            "paired": {"drift": median_ci(drifts), "error_vs_table": median_ci(err_table),
                       "error_corrected": median_ci(err_corr)},
            "series": {"measured_s": totals, "drift": drifts, "error_vs_table": err_table,
                       "error_corrected": err_corr, "started_s": list(started),
                       "process": list(self.pids)},
            "power_w": self.power.mean_w(self.pass_windows), "within_run_speed_change": change,
            "waited_fraction": wait_ci, "series_waited_fraction": waited,
            "reliable": not reasons, "reasons": reasons, "per_task": task_rows,
        }


def validate_pipeline_rounds(name: str, graph, table: KernelTable, device: str, torch,
                             threads: int, rounds: int, rotate_bytes: int, seed: int = 0,
                             on_round: Callable[[str, int], None] | None = None,
                             power=None, allocations: int | None = None,
                             passes_per_round: int = PASSES_PER_ROUND) -> dict[str, Any]:
    """Run *rounds* rounds of one pipeline alone; return its per-round series and per-task
    statistics (see the module docstring; :func:`validate_rounds` interleaves several
    pipelines' rounds instead). *allocations*: separately allocated copies of the pipeline's
    buffers, one per block of consecutive rounds (default: :data:`ALLOCATIONS`, as memory allows)."""
    state = _PipelineRounds(name, graph, table, device, torch, threads, rounds, rotate_bytes,
                            seed=seed, power=power, allocations=allocations,
                            passes_per_round=passes_per_round)
    for r in range(rounds):
        if on_round:
            on_round(name, r)
        state.round(r)
    return state.result()


#: Bootstrap resamples of the pooled interval.
BOOTSTRAP = 2000
#: Rounds per block of the (circular moving-block) bootstrap. Successive rounds are not
#: independent draws: the host's contention comes in phases of seconds (one DSA run here had
#: its o_proj re-measurements 20% slow for six rounds in a row, then not), and resampling
#: single rounds would treat a phase as luck and give intervals too narrow to hold the next
#: run's median.
BOOTSTRAP_BLOCK = 3


def _grouped_indices(rng, rounds: int, block: int, groups: int) -> np.ndarray:
    """Round indices of one resample: *groups* allocations drawn with replacement, each
    contributing a block resample of its own rounds (consecutive: :func:`allocation_of_round`)."""
    if groups <= 1:
        return _block_indices(rng, rounds, block)
    bounds = block_bounds(rounds, groups)
    members = [np.arange(a, b) for a, b in zip(bounds, bounds[1:])]
    parts = []
    for g in rng.integers(0, groups, groups):
        m = members[g]
        parts.append(m[_block_indices(rng, len(m), block)])
    return np.concatenate(parts)


def _block_indices(rng, rounds: int, block: int) -> np.ndarray:
    """Round indices of one circular moving-block resample (length *rounds*)."""
    block = max(1, min(block, rounds))
    starts = rng.integers(0, rounds, -(-rounds // block))
    return (starts[:, None] + np.arange(block)[None, :]).reshape(-1)[:rounds] % rounds


def _pooled_point(inpipe: np.ndarray, rem: np.ndarray, task_shape: np.ndarray,
                  cold_tab: np.ndarray, simulated_s: float) -> tuple[float, float, float, float]:
    measured = float(np.median(inpipe.reshape(inpipe.shape[0], -1), axis=1).sum())
    now = float(np.median(rem, axis=1)[task_shape].sum())
    drift = now / float(cold_tab.sum()) - 1.0
    predicted = simulated_s * (1.0 + drift)
    return measured, drift, simulated_s / measured - 1.0, predicted / measured - 1.0


def pooled_errors(inpipe, rem, task_shape, cold_tab, simulated_s: float, seed: int = 0,
                  resamples: int | None = None, confidence: float = 0.95,
                  block: int | None = None, groups: int = 1) -> dict[str, Any]:
    """Pipeline errors pooled over rounds, with a bootstrap interval over rounds.

    *inpipe*: [task, round, pass] in-pipeline seconds; *rem*: [row, round] re-measured
    single calls; *task_shape*: the row of *rem* of each task (validation re-measures every
    task, so its row is its own); *cold_tab*: the table's price of
    each task. Measured = the sum of every task's median in-pipeline time (a pass without the
    preempted calls); drift = the tasks' median re-measured times over the table's prices;
    corrected error = simulated x (1 + drift) / measured - 1. Medians are taken over the same
    rounds on both sides, so drift cancels; a single preempted call moves a median, not a sum.
    The interval resamples blocks of *block* (default :data:`BOOTSTRAP_BLOCK`) consecutive
    rounds with replacement (seeded: deterministic), since rounds come in correlated phases;
    with *groups* > 1 (consecutive blocks of rounds ran on separate buffer allocations) it first resamples the
    allocations, then blocks of rounds within each, so the spread between allocations enters
    the interval.
    """
    inpipe, rem = np.asarray(inpipe, float), np.asarray(rem, float)
    measured, drift, e_tab, e_corr = _pooled_point(inpipe, rem, task_shape, cold_tab, simulated_s)
    rng = np.random.default_rng(seed)
    rounds = inpipe.shape[1]
    boots = []
    for _ in range(resamples or BOOTSTRAP):
        idx = _grouped_indices(rng, rounds, BOOTSTRAP_BLOCK if block is None else block, groups)
        boots.append(_pooled_point(inpipe[:, idx, :], rem[:, idx], task_shape, cold_tab, simulated_s))
    b = np.asarray(boots)
    q = [50 * (1 - confidence), 100 - 50 * (1 - confidence)]

    def ci(point, col):
        lo, hi = np.percentile(b[:, col], q)
        return {"median": point, "lo": float(min(lo, point)), "hi": float(max(hi, point)),
                "coverage": confidence if rounds >= 10 else None, "n": rounds,
                "method": f"pooled medians; {len(b)}-resample moving-block bootstrap over "
                          + (f"{groups} allocations and their rounds" if groups > 1 else "rounds")}

    return {"measured_s": measured, "drift": ci(drift, 1), "error_vs_table": ci(e_tab, 2),
            "error_corrected": ci(e_corr, 3)}


def step_change(series: list[float]) -> float:
    """Relative change of the machine's speed between the first and second half of a run
    (median drift ratio of each half): a load that starts or stops shows here, one preempted
    round does not."""
    if len(series) < 4:
        return 0.0
    h = len(series) // 2
    a = statistics.median(1.0 + d for d in series[:h])
    b = statistics.median(1.0 + d for d in series[h:])
    return max(a, b) / max(min(a, b), 1e-12) - 1.0


def kernel_heldout(table: KernelTable) -> dict[str, Any]:
    """Per kernel: the held-out (leave-one-out) error's median and interval over its points;
    for a fit split by regime also per regime (``regimes``: regime -> the same fields)."""
    from hetsim.costs.fitted import heldout_point_errors, model_label, point_regimes

    def row(model, points, heldout, errs):
        ci = median_ci(errs)
        return {"model": model, "points": points, "heldout_error": heldout, "heldout_ci": ci,
                "claimable": claimable({**ci, "lo": 0.0 if ci["lo"] is None else ci["lo"]})
                if ci["n"] else False}

    out = {}
    for name, entry in sorted(table.data["kernels"].items()):
        fit = entry.get("fit", {})
        errs = heldout_point_errors(fit, name) if fit.get("measured") else []
        out[name] = row(model_label(fit), len(entry.get("points", [])), fit.get("heldout_error"), errs)
        if fit.get("regimes") and errs:
            labels = point_regimes(fit, name)
            out[name]["regimes"] = {
                r: row(sub.get("model"), sub.get("num_points"), sub.get("heldout_error"),
                       [e for e, lab in zip(errs, labels) if lab == r])
                for r, sub in fit["regimes"].items()}
    return out


def _run_block(spec: dict) -> list["_PipelineRounds"]:
    """In a block's own child process: build every pipeline afresh (its own allocation, heap
    and address-space layout), run the block's rounds interleaved as :func:`validate_rounds`
    does, and return the states' records (pickled without their buffers)."""
    from .harness import _PowerWindows
    from .kernels import require_torch
    from .power import find_reader

    torch = require_torch()
    torch.set_num_threads(spec["threads"])
    table = read_table(spec["table"])
    power = _PowerWindows(find_reader(spec["device"]))
    try:
        states = [_PipelineRounds(name, spec["graphs"][name], table, spec["device"], torch, spec["threads"],
                                  spec["rounds"], spec["rotate_bytes"], seed=spec["seed"] + i, power=power,
                                  allocations=1, t0=spec["t0"], rng_seed=(spec["seed"] + i, spec["block"]))
                  for i, name in enumerate(spec["names"])]
        for r in range(spec["lo"], spec["hi"]):
            for s in states:
                s.round(r)
        for s in states:
            s.release()
    finally:
        power.close()
    return states


def _run_blocks_in_processes(spec: dict, bounds: list[int], on_round, mid_probe) -> list["_PipelineRounds"]:
    """Run each batch-means block of rounds in its own short-lived child process (spawned:
    a fresh interpreter, not a fork sharing the parent's pages) and merge their records in
    time order. *mid_probe* runs in the parent after the block holding the middle round."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    states = None
    mid = (spec["rounds"] - 1) // 2
    for b, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        if on_round:
            for r in range(lo, hi):
                for name in spec["names"]:
                    on_round(name, r)
        with ctx.Pool(1) as pool:
            got = pool.apply(_run_block, ({**spec, "lo": lo, "hi": hi, "block": b},))
        if states is None:
            states = got
        else:
            for s, g in zip(states, got):
                s.extend(g)
        if lo <= mid < hi:
            mid_probe()
    for s in states:
        s.nalloc = s.block_processes = len(bounds) - 1
    return states


def validate_rounds(table_path: str | Path, device: str = "cpu", rounds: int = DEFAULT_ROUNDS,
                    pipelines: list[str] | None = None, seed: int = 0,
                    on_round: Callable[[str, int], None] | None = None,
                    graphs: dict[str, Any] | None = None,
                    allocations: int | None = None, processes: bool | None = None) -> dict[str, Any]:
    """Drift-cancelling validation of a table (see the module docstring).

    Returns a JSON-ready dict: ``table``, ``device``, ``threads``, ``provenance``,
    ``kernels`` (held-out error and interval per kernel), ``pipelines`` (per pipeline the
    medians and 95% intervals of measured time, drift, error vs table and drift-corrected
    error, the per-round series, per-task rows, ``reliable`` and ``reasons``), ``probes``
    (the table's, this run's and their comparison), ``warnings`` and ``reliable``.
    *graphs* replaces the built-in pipelines (name -> task graph; tests use tiny ones).
    *processes* (default :data:`BLOCK_PROCESSES` on a CPU): run each batch-means block of
    rounds in its own child process (see :data:`BLOCK_PROCESSES`); *on_round* then fires for
    a block's rounds just before the block, not before each round.
    """
    from .harness import _PowerWindows, last_level_cache_bytes
    from .kernels import require_torch
    from .power import find_reader
    from .probes import compare_probes, run_probes
    from .validate import pipeline_graphs

    torch = require_torch()
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, not {rounds}")
    table = read_table(table_path)
    prov = table.data.get("provenance", {})
    threads = int(prov.get("threads") or torch.get_num_threads())
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(threads)  # the table's thread count, not whatever is default here
    llc = last_level_cache_bytes() if device == "cpu" else None
    mem = prov.get("memory_state", {})
    rotate_bytes = int(mem.get("rotate_bytes") or 2 * (llc or 32 * 2**20))
    graphs = graphs if graphs is not None else pipeline_graphs()
    names = pipelines or list(graphs)
    unknown = [n for n in names if n not in graphs]
    if unknown:
        raise ValueError(f"unknown pipeline(s) {unknown}; known: {', '.join(graphs)}")
    probe_runs = [run_probes(threads, llc, device)]
    power = _PowerWindows(find_reader(device))
    out: dict[str, Any] = {"table": str(table_path), "device": table.data.get("device", {}),
                           "threads": threads, "provenance": prov, "rounds": rounds,
                           "kernels": kernel_heldout(table), "pipelines": {}}
    try:
        # the pipelines' rounds interleave (round r of every pipeline, then round r + 1), so
        # each pipeline's rounds span the whole run and a minutes-scale drift of its
        # pipeline/re-measurement ratio shows between its blocks of rounds
        t0 = time.perf_counter()
        if device == "cpu" and (BLOCK_PROCESSES if processes is None else processes):
            nblocks = len(block_bounds(rounds, ALLOCATIONS if allocations is None else max(1, int(allocations)))) - 1
            spec = {"table": str(table_path), "graphs": {n: graphs[n] for n in names}, "names": names,
                    "device": device, "threads": threads, "rounds": rounds, "rotate_bytes": rotate_bytes,
                    "seed": seed, "t0": t0}

            def mid_probe():
                if len(names) > 1:
                    probe_runs.append(run_probes(threads, llc, device))

            states = _run_blocks_in_processes(spec, block_bounds(rounds, nblocks), on_round, mid_probe)
            for s in states:
                s.power = power
        else:  # one process (the GPU paths): the same rounds, allocations copied per block
            states = [_PipelineRounds(name, graphs[name], table, device, torch, threads, rounds,
                                      rotate_bytes, seed=seed + i, power=power,
                                      allocations=allocations, t0=t0)
                      for i, name in enumerate(names)]
            for r in range(rounds):
                for s in states:
                    if on_round:
                        on_round(s.name, r)
                    s.round(r)
                if r == (rounds - 1) // 2 and len(names) > 1:
                    probe_runs.append(run_probes(threads, llc, device))  # mid-run
        for s in states:
            out["pipelines"][s.name] = s.result()
        probe_runs.append(run_probes(threads, llc, device))
    finally:
        power.close()
        torch.set_num_threads(prev_threads)
    recorded = (prov.get("probes") or {}).get("median") or {}
    noise = (prov.get("probes") or {}).get("noise") or {}
    cmp = compare_probes(recorded, probe_runs, noise) if recorded else {"warnings": [
        "the table records no machine-state probes (made before probes existed): drift is "
        "measured by the same-round re-measurement only"]}
    out["probes"] = {"table": recorded or None, "table_noise": noise or None, "runs": probe_runs,
                     "comparison": cmp}
    warnings = list(cmp.get("warnings", []))
    if table.data.get("after_producer") and not table.data.get("contexts"):
        warnings.append("the table holds per-producer factors (an older format) and no per-context "
                        "cold calls: its tasks are priced and re-measured after the evictor alone; "
                        "recalibrate to price them in their pipeline context")
    made_waited = prov.get("waited_fraction")
    if made_waited is not None and made_waited > MAX_WAITED_FRACTION:
        warnings.append(f"the table was made while its threads waited for a CPU {made_waited:.0%} "
                        "of the time (other processes on its cores): its prices include that queue")
    for name, v in out["pipelines"].items():
        d = v["drift"]["median"]
        if d is not None:
            warnings.append(f"{name}: the machine is {abs(d):.0%} {'slower' if d >= 0 else 'faster'} "
                            "than when the table was made (same-round re-measurement); the "
                            "drift-corrected error takes that out")
    out["warnings"] = warnings
    out["reliable"] = all(v["reliable"] for v in out["pipelines"].values())
    errs = [v["heldout_error"] for v in out["kernels"].values() if v["heldout_error"] is not None]
    out["median_kernel_heldout_error"] = statistics.median(errs) if errs else None
    return out


def _matched_ratio(rows: list[dict]) -> float | None:
    """Median over rounds of the class's within-round ratio, or None when the rows carry no
    per-round series. Within a round, each task's re-measured single calls (the round's median)
    are divided by that task's own in-pipeline time (its median over the round's passes), and
    the class's ratio is the geometric mean of its tasks' ratios.

    Why matched by round: a short task's in-pipeline and single-call times move together with
    the host's memory phases from one round to the next (decode attention: 2-3x;
    log-correlation 0.3-0.6 between the two sides over rounds), and a ratio taken within each
    round cancels what they share. Why task by task: the tasks of a class run the same kernel
    and shape in different contexts, at times up to 30% apart (top-k over 32K items in the
    third DSA layer, decode attention in the first layer), and a median pooled over all the
    tasks' passes is not comparable with a median over the tasks' single calls: with three
    tasks of which one is slower the pooled side comes out higher. That bias made top-k over
    32K items read -5.0% on average over 15 stored runs (sets 1-3 of issue 15), against -2.2%
    task by task."""
    rem = [r.get("series_remeasured_cold_s") for r in rows]
    inp = [r.get("series_in_pipeline_s") for r in rows]
    if any(x is None for x in rem + inp) or not rem[0]:
        return None
    n = len(rem[0])
    if any(len(x) != n for x in rem) or any(len(x) != len(inp[0]) or len(x) % n for x in inp):
        return None
    per = len(inp[0]) // n
    ratios = []
    for j in range(n):
        logs = []
        for r_rem, r_in in zip(rem, inp):
            m_in = statistics.median(r_in[per * j:per * (j + 1)])
            if m_in > 0 and r_rem[j] > 0:
                logs.append(math.log(r_rem[j] / m_in))
        if len(logs) == len(rows):
            ratios.append(math.exp(math.fsum(logs) / len(logs)))
    return statistics.median(ratios) if ratios else None


def task_classes(per_task: list[dict]) -> list[dict]:
    """Per-task rows grouped by (kernel, shape): the class's re-measured single call (the
    table's cold price after drift) against its in-pipeline time, matched round by round and
    task by task (``error_corrected``: median over rounds of the within-round ratio, see
    :func:`_matched_ratio`; pooled medians when the rows carry no per-round series), and
    the warm price scaled by the same drift against it (``error_corrected_warm_only``: no
    cold-cost model). ``in_pipeline_s``/``remeasured_cold_s`` are the pooled medians."""
    groups: dict[str, list[dict]] = {}
    for row in per_task:
        groups.setdefault(_key(row["kernel"], row["shape"]), []).append(row)
    out = []
    for rows in groups.values():
        med = lambda f: statistics.median(f(r) for r in rows)  # noqa: E731
        inp = [x for r in rows for x in r.get("series_in_pipeline_s", [r["in_pipeline_s"]])]
        rem = [x for r in rows for x in r.get("series_remeasured_cold_s", [r["remeasured_cold_s"]])]
        m_in, m_rem = statistics.median(inp), statistics.median(rem)
        warm, cold = rows[0]["table_warm_s"], rows[0]["table_cold_s"]
        ratio = _matched_ratio(rows)
        if ratio is None:
            ratio = m_rem / m_in if m_in > 0 else math.nan
        out.append({"tasks": [r["task"] for r in rows], "kernel": rows[0]["kernel"],
                    "shape": rows[0]["shape"], "count": len(rows), "in_pipeline_s": m_in,
                    "remeasured_cold_s": m_rem, "table_cold_s": med(lambda r: r["table_cold_s"]),
                    "table_warm_s": med(lambda r: r["table_warm_s"]),
                    "error_corrected": ratio - 1.0,
                    "error_corrected_warm_only": (warm * ratio / cold - 1.0 if cold > 0 else math.nan)})
    return out


__all__ = ["validate_rounds", "validate_pipeline_rounds", "kernel_heldout", "task_classes", "chunk_plan",
           "DEFAULT_ROUNDS", "MAX_WITHIN_RUN_SPEED_CHANGE", "MAX_WAITED_FRACTION"]
