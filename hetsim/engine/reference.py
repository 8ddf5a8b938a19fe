"""The reference engine on SimPy: one process per task, the modelling API of the design.

Each process waits for its predecessors, takes an engine of its device (or, for a transfer,
each link channel of its route in turn), spends the launch overhead, then runs its work phase
as a flow through the device's shared memory bandwidth, gives the engine back and writes a
:class:`~hetsim.trace.Record`. The engine knows tasks, resources and transfers only; pipeline
steps are labels it copies into the trace.

Waiting for predecessors is a counter per task and one event that fires when it reaches
zero (the same scheduling as ``simpy.AllOf``, without building its value); engine pools are
:class:`~.resources.EnginePool` (FIFO or priority queues that never re-sort).
"""

from __future__ import annotations

import simpy

from ..trace import make_record
from .plan import Plan, slot_names
from .resources import EnginePool, SharedBandwidth


def run_reference(plan: Plan) -> tuple[list, dict[str, float]]:
    """Simulate *plan* on SimPy; return (records, bytes served per device memory)."""
    env = simpy.Environment()
    n = len(plan.order)
    pools = [EnginePool(env, plan.res.pool_prefix[p], plan.res.pool_count[p], fifo=plan.fifo)
             for p in range(len(plan.res.pool_prefix))]
    names = [slot_names(plan, p) for p in range(len(pools))]
    memories = [SharedBandwidth(env, bw) for bw in plan.res.memory_Bps]
    succ, npred, prio = plan.succ, plan.npred, plan.prio
    pending = list(npred)
    gates = [env.event() if npred[i] else None for i in range(n)]
    records: list = []
    done = [0]

    def finished(i: int) -> None:
        """Task *i* is done: one event whose processing releases its successors."""
        done[0] += 1
        ev = env.event()
        ev.callbacks.append(lambda _e, i=i: _release_successors(i))
        ev.succeed()

    def _release_successors(i: int) -> None:
        for s in succ[i]:
            pending[s] -= 1
            if pending[s] == 0:
                gates[s].succeed()

    def run_task(i: int):
        if gates[i] is not None:
            yield gates[i]
        t, cost = plan.tasks[i], plan.cost[i]
        ready = env.now
        p = plan.pool[i]
        pool = pools[p]
        slot = yield from pool.acquire(prio[i])
        start = env.now
        if cost.overhead_s > 0:
            yield env.timeout(cost.overhead_s)
        if cost.work_s > 0:
            if cost.mem_bytes > 0:
                yield memories[plan.res.pool_memory[p]].flow(cost.mem_bytes, cost.mem_bytes / cost.work_s)
            else:
                yield env.timeout(cost.work_s)
        pool.release(slot)
        end = env.now
        extra_w = cost.extra_power_w
        records.append(make_record((
            t.name, "task", t.step.value, plan.device[i], names[p][slot], start, end, ready,
            cost.overhead_s, cost.mem_bytes, cost.flop, extra_w, extra_w * (end - start),
            cost.source, cost.extrapolated, t.layer, 0)))
        finished(i)

    def run_transfer(i: int):
        if gates[i] is not None:
            yield gates[i]
        t = plan.tasks[i]
        for h, (p, dur) in enumerate(zip(plan.route[i], plan.hop_s[i])):
            ready = env.now
            chan = pools[p]
            slot = yield from chan.acquire(prio[i])
            start = env.now
            yield env.timeout(dur)
            chan.release(slot)
            end = env.now
            ch = plan.res.channel_objs[p]
            power = ch.spec.power
            extra_w = float(power.active_w) - float(power.idle_w)
            records.append(make_record((
                t.name, "hop", t.step.value, None, ch.name, start, end, ready, 0.0,
                float(t.nbytes), 0.0, extra_w,
                extra_w * (end - start) + float(power.energy_per_byte_j) * t.nbytes,
                f"link:{ch.spec.direction(ch.forward).model}", False, t.layer, h)))
        finished(i)

    for i in range(n):
        env.process(run_transfer(i) if plan.cost[i] is None else run_task(i))
    env.run()
    if done[0] != n:  # pragma: no cover - would be an engine bug
        raise RuntimeError("simulation ended with unfinished tasks")
    return records, {name: m.bytes_served for name, m in zip(plan.res.memory_names, memories)}
