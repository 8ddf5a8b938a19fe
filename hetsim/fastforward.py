"""Steady-state fast-forward: simulate a few repeated blocks, extrapolate the rest exactly.

A workload that declares :class:`~hetsim.workloads.registry.Repeats` is a chain of blocks
(layers) repeated ``N`` times per step, over ``S`` steps whose costs change from step to step
(the context grows by one token per decode step). Once the schedule reaches a periodic
steady state, every further block of the same step adds the same increment to every additive
result (makespan, energy, busy and critical time per step and device, bytes, task counts).

Per step ``t`` the increment of one block is measured, not assumed: the step's own graph is
built (its costs re-evaluated at its context) with ``w - 1`` and ``w`` blocks and simulated in
full; their difference is the increment. ``w`` is the smallest window (from 2) for which two
consecutive increments agree to :data:`STEADY_REL` (checked on the first step and again on
the last). Then

    total = r_w(step 0) + (N - w) * inc(0) + sum over t >= 1 of N * inc(t)

(step ``t >= 1`` continues the chain, so all its blocks are inner blocks), and ratios
(utilisation, memory-processing fraction, energy per token) are recomputed from the totals.
``tests/test_fastforward.py`` compares against full simulations (makespan and energy within
0.5 %; in practice equal to ~1e-12).
"""

from __future__ import annotations

from typing import Callable

from .config.scenario import Scenario
from .errors import CapacityError, ConfigError
from .graph import MEMORY_PROCESSING_STEPS, Step
from .loader import validate
from .units import format_quantity
from .workloads.registry import build_workload, workloads

#: mapping policies that place each task by what it is, so a window maps like the full graph
FF_POLICIES = ("gpu-only", "hetero", "fpga-max", "single")
#: two consecutive per-block increments of makespan and energy agree this closely (relative)
STEADY_REL = 1e-6
#: ``auto`` fast-forwards when the full graph would have more tasks than this
AUTO_MIN_TASKS = 50_000
#: ... and has at least this many blocks (layers x steps)
AUTO_MIN_BLOCKS = 200
MAX_WINDOW = 8
_RATIOS = {"memory_processing_fraction", "utilization", "energy_per_token_j"}
_MP = {s.value for s in MEMORY_PROCESSING_STEPS} | {Step.TRANSFER.value}


def _params(scenario: Scenario, file: str | None) -> tuple[dict, object]:
    wl = workloads()[scenario.workload.name]
    p = validate(wl.params, scenario.workload.params, file=file, prefix="workload.params")
    return p.model_dump(), wl.repeats


def should_fast_forward(scenario: Scenario, policy: str, mode: str, *, file: str | None = None) -> bool:
    """Whether to fast-forward this run (``mode``: on, off, auto)."""
    if mode == "off":
        return False
    reg = workloads()
    wl = reg.get(scenario.workload.name)
    rep = wl.repeats if wl else None
    if rep is None or policy not in FF_POLICIES:
        if mode == "on":
            why = ("workload does not declare repeated blocks" if rep is None else
                   f"mapping {policy!r} places tasks by search, so a window would map differently "
                   f"from the full graph; fast-forward supports {', '.join(FF_POLICIES)}")
            raise ConfigError(f"cannot fast-forward: {why}", file=file, field="run.fast_forward")
        return False
    if mode == "on":
        return True
    params, rep = _params(scenario, file)
    if params[rep.blocks] * (params[rep.steps] if rep.steps else 1) < AUTO_MIN_BLOCKS:
        return False  # too few repeats to gain much: no need to price a block
    one = _step(params, rep, 0, 1)
    per_block = build_workload(scenario.workload.name, one, file=file).number_of_nodes()
    total = per_block * params[rep.blocks] * (params[rep.steps] if rep.steps else 1)
    return total > AUTO_MIN_TASKS


def _step(params: dict, rep, t: int, blocks: int) -> dict:
    p = rep.step_params(params, t) if rep.steps else dict(params)
    p[rep.blocks] = blocks
    return p


def _combine(a, b, fa: float, fb: float):
    """fa * a + fb * b over the numeric leaves of two results of the same shape."""
    if isinstance(a, dict):
        return {k: _combine(a[k], b[k], fa, fb) if k in b else a[k] for k, v in a.items()}
    if isinstance(a, bool) or not isinstance(a, (int, float)):
        return a
    return fa * a + fb * b


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= STEADY_REL * max(abs(a), abs(b), 1e-30)


def _finish(total: dict) -> dict:
    """Round counts, recompute ratios from the extrapolated totals."""
    makespan = total["makespan_s"]
    for k in ("tasks", "critical_path_tasks", "tokens"):
        total[k] = int(round(total[k]))
    for dev in total["devices"].values():
        dev["tasks"] = int(round(dev["tasks"]))
        dev["utilization"] = dev["busy_s"] / makespan if makespan > 0 else 0.0
    for lk in total["links"].values():
        lk["transfers"] = int(round(lk["transfers"]))
    mp = sum(total["steps"][s]["critical_s"] for s in _MP)
    total["memory_processing_fraction"] = mp / makespan if makespan > 0 else 0.0
    total["energy_per_token_j"] = total["energy_j"] / (total["tokens"] or 1)
    return total


def fast_forward(scenario: Scenario, run: Callable[[Scenario, dict], object], *,
                 file: str | None = None):
    """Fast-forwarded RunOutput of *scenario*, or None when a full run is as cheap.

    *run(scenario, params)* builds and simulates the workload with those parameters and
    returns a :class:`~hetsim.simulation.RunOutput`.
    """
    params, rep = _params(scenario, file)
    n_blocks = params[rep.blocks]
    n_steps = params[rep.steps] if rep.steps else 1
    cache: dict[tuple[int, int], object] = {}
    simulated = [0]

    def window(t: int, w: int):
        if (t, w) not in cache:
            out = run(scenario, _step(params, rep, t, w))
            simulated[0] += out.result["tasks"]
            cache[(t, w)] = out
        return cache[(t, w)]

    def inc(t: int, w: int) -> dict:
        return _combine(window(t, w).result, window(t, w - 1).result, 1.0, -1.0)

    def steady(t: int, w: int) -> bool:
        a, b = inc(t, w), inc(t, w - 1)
        return _close(a["makespan_s"], b["makespan_s"]) and _close(a["energy_j"], b["energy_j"])

    w = 3
    while w <= min(MAX_WINDOW, n_blocks) and not steady(0, w):
        w += 1
    if w >= n_blocks and n_steps == 1:
        return None  # no blocks left to skip: simulate in full
    if w > MAX_WINDOW or w > n_blocks:
        if n_steps * n_blocks <= MAX_WINDOW * 4:
            return None
        raise ConfigError(f"no periodic steady state within {MAX_WINDOW} blocks; run with "
                          "run.fast_forward: off", file=file, field="run.fast_forward")
    w -= 1  # steady(0, w + 1): the increment over w blocks is already the periodic one
    last_ok = n_steps == 1 or steady(n_steps - 1, w + 1)
    if not last_ok:
        raise ConfigError(f"steady state at step 0 does not hold at step {n_steps - 1}; run "
                          "with run.fast_forward: off", file=file, field="run.fast_forward")
    first = window(0, w)
    total = _combine(first.result, inc(0, w), 1.0, float(n_blocks - w))
    extrapolated = set(first.result["extrapolated_tasks"])
    for t in range(1, n_steps):
        total = _combine(total, inc(t, w), 1.0, float(n_blocks))
        extrapolated.update(window(t, w).result["extrapolated_tasks"])
    _check_capacity(scenario, window(n_steps - 1, w), window(n_steps - 1, w - 1), n_blocks, w)
    total = _finish(total)
    total["tokens"] = int(first.result["tokens"]) * n_steps
    total["energy_per_token_j"] = total["energy_j"] / total["tokens"]
    total["extrapolated_tasks"] = sorted(extrapolated)
    total["workload"] = {"name": scenario.workload.name,
                         "graph": f"{scenario.workload.name}({rep.blocks}={n_blocks}"
                                  + (f", {rep.steps}={n_steps})" if rep.steps else ")")}
    total["fast_forward"] = {
        "used": True, "blocks": n_blocks, "steps": n_steps, "window_blocks": w,
        "simulated_tasks": simulated[0], "steady_rel": STEADY_REL,
        "note": "graph, trace and timeline cover the first window only",
    }
    first.result = total
    return first


def _check_capacity(scenario: Scenario, big, small, n_blocks: int, w: int) -> None:
    """Resident data of the full run (grown linearly per block) must fit where it is placed."""
    data_w = big.graph.graph.get("data", {})
    data_s = small.graph.graph.get("data", {})
    used: dict[str, float] = {}
    for d, size in data_w.items():
        full = size + (n_blocks - w) * (size - data_s.get(d, 0))
        dev = big.mapping.placement[d]
        used[dev] = used.get(dev, 0) + full
    for dev, total in sorted(used.items()):
        cap = float(scenario.system.device(dev).memory.capacity_bytes)
        if total > cap:
            raise CapacityError(f"device {dev!r} memory holds {format_quantity(cap, 'B')} but the "
                                f"full run places {format_quantity(total, 'B')} on it")
