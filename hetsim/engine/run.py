"""Run a mapped task graph on a system: one SimPy process per task.

Each process waits for its predecessors, takes an engine of its device (or, for a transfer,
each link channel of its route in turn), spends the launch overhead, then runs its work phase
as a flow through the device's shared memory bandwidth, gives the engine back and writes a
:class:`~hetsim.trace.Record`. The engine knows tasks, resources and transfers only; pipeline
steps are labels it copies into the trace.
"""

from __future__ import annotations

import networkx as nx
import simpy

from ..config.system import SystemSpec
from ..costs import CostModel, KernelCost
from ..errors import HetsimError
from ..graph import Task, task_of, topological_order, validate_graph
from ..mapping.base import Mapping
from ..topology import Topology
from ..trace import Record, ResourceInfo, Trace
from .resources import EnginePool, SharedBandwidth

QUEUE_POLICIES = ("fifo", "critical-path-first")


def _upward_rank(g: nx.DiGraph, durations: dict[str, float]) -> dict[str, float]:
    """Longest uncontended time from the start of each task to the end of the graph."""
    rank: dict[str, float] = {}
    for n in reversed(topological_order(g)):
        rank[n] = durations[n] + max((rank[s] for s in g.successors(n)), default=0.0)
    return rank


def simulate(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping, costs: CostModel | None = None,
             *, queue_policy: str = "fifo", power_off_unused: bool = True) -> Trace:
    """Simulate *graph* (with transfer tasks already inserted) and return its trace.

    Parameters
    ----------
    graph : networkx.DiGraph
        Validated task graph in which split edges are transfer tasks
        (:func:`hetsim.mapping.transfers.insert_transfers`).
    system : SystemSpec
    mapping : Mapping
        Device (and optional engine pool) of every non-transfer task.
    costs : CostModel, optional
        Prices tasks; a fresh one by default.
    queue_policy : {"fifo", "critical-path-first"}
        Which waiting task gets a freed engine or channel first.
    power_off_unused : bool
        A device that the mapping gives no task and no data counts as absent (no idle
        energy), so a ``gpu-only`` run is the GPU alone, as in the study's baseline.
    """
    if queue_policy not in QUEUE_POLICIES:
        raise HetsimError(f"unknown queue policy {queue_policy!r}; allowed: {', '.join(QUEUE_POLICIES)}")
    validate_graph(graph)
    costs = costs or CostModel()
    topo = Topology(system)
    env = simpy.Environment()

    devices = {d.name: d for d in system.devices}
    pools = {}
    dev_info: dict[str, ResourceInfo] = {}
    for d in system.devices:
        slots: list[str] = []
        for p in d.engines:
            pool = pools[(d.name, p.name)] = EnginePool(env, f"{d.name}/{p.name}", p.count)
            slots.extend(pool.slot_names)
        used = (not power_off_unused or d.name in mapping.assignment.values()
                or d.name in mapping.placement.values())
        dev_info[d.name] = ResourceInfo(d.name, "device", float(d.power.idle_w), tuple(slots),
                                        used=used)
    memories = {d.name: SharedBandwidth(env, float(d.memory.achievable_bandwidth_Bps))
                for d in system.devices}
    channels = {name: EnginePool(env, name, 1) for name in topo.channels}
    chan_info = {name: ResourceInfo(name, "channel", 0.0, (name,), ch.link)
                 for name, ch in topo.channels.items()}

    # Price everything up front: a missing cost fails before the clock starts.
    priced: dict[str, KernelCost] = {}
    routes: dict[str, tuple] = {}
    durations: dict[str, float] = {}
    for n in graph.nodes:
        t = task_of(graph, n)
        if t.is_transfer:
            routes[n] = topo.route(t.src, t.dst, t.nbytes)
            durations[n] = sum(c.time_s(t.nbytes) for c in routes[n])
        else:
            priced[n] = costs.price(t, devices[mapping.assignment[n]])
            durations[n] = priced[n].latency_s
    if queue_policy == "critical-path-first":
        rank = _upward_rank(graph, durations)
        priority = {n: -rank[n] for n in graph.nodes}
    else:
        priority = {n: 0.0 for n in graph.nodes}

    records: list[Record] = []
    done = {n: env.event() for n in graph.nodes}

    def run_task(n: str, t: Task):
        preds = [done[p] for p in graph.predecessors(n)]
        if preds:
            yield simpy.AllOf(env, preds)
        ready = env.now
        dev = devices[mapping.assignment[n]]
        cost = priced[n]
        pool = pools[(dev.name, mapping.pool_of(n, dev))]
        slot = yield from pool.acquire(priority[n])
        start = env.now
        if cost.overhead_s > 0:
            yield env.timeout(cost.overhead_s)
        if cost.work_s > 0:
            if cost.mem_bytes > 0:
                yield memories[dev.name].flow(cost.mem_bytes, cost.mem_bytes / cost.work_s)
            else:
                yield env.timeout(cost.work_s)
        pool.release(slot)
        end = env.now
        extra_w = cost.extra_power_w
        records.append(Record(
            name=n, kind="task", step=t.step.value, device=dev.name, resource=pool.slot_names[slot],
            start_s=start, end_s=end, ready_s=ready, overhead_s=cost.overhead_s,
            nbytes=cost.mem_bytes, flop=cost.flop, extra_power_w=extra_w,
            energy_j=extra_w * (end - start), source=cost.source, extrapolated=cost.extrapolated,
            layer=t.layer))
        done[n].succeed()

    def run_transfer(n: str, t: Task):
        preds = [done[p] for p in graph.predecessors(n)]
        if preds:
            yield simpy.AllOf(env, preds)
        for i, ch in enumerate(routes[n]):
            ready = env.now
            chan = channels[ch.name]
            slot = yield from chan.acquire(priority[n])
            start = env.now
            yield env.timeout(ch.time_s(t.nbytes))
            chan.release(slot)
            end = env.now
            power = ch.spec.power
            extra_w = float(power.active_w) - float(power.idle_w)
            records.append(Record(
                name=n, kind="hop", step=t.step.value, device=None, resource=ch.name,
                start_s=start, end_s=end, ready_s=ready, nbytes=float(t.nbytes),
                extra_power_w=extra_w,
                energy_j=extra_w * (end - start) + float(power.energy_per_byte_j) * t.nbytes,
                source=f"link:{ch.spec.direction(ch.forward).model}", layer=t.layer, hop=i))
        done[n].succeed()

    for n in topological_order(graph):
        t = task_of(graph, n)
        env.process(run_transfer(n, t) if t.is_transfer else run_task(n, t))
    env.run()

    unfinished = [n for n, ev in done.items() if not ev.triggered]
    if unfinished:  # pragma: no cover - would be an engine bug
        raise RuntimeError(f"simulation ended with unfinished tasks: {unfinished[:5]}")
    records.sort(key=lambda r: (r.start_s, r.end_s, r.resource, r.name, r.hop))
    return Trace(
        records=records, devices=dev_info, channels=chan_info,
        link_idle_w={lk.name: float(lk.spec.power.idle_w) for lk in system.links},
        edges=list(graph.edges()),
        memory_bytes={name: m.bytes_served for name, m in memories.items()},
        meta={"queue_policy": queue_policy, "mapping": mapping.policy,
              "num_tasks": graph.number_of_nodes(), "graph": graph.graph.get("name", ""),
              "tokens": graph.graph.get("tokens", 1)},
    )
