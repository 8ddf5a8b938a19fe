"""What both engine paths need, computed once: tasks in start order, prices, routes, queues.

Everything that does not depend on the clock is resolved here (costs, routes, priorities,
successor lists in process-start order), so a missing cost fails before the clock starts and
the two paths (:mod:`.reference` on SimPy, :mod:`.fast` on a plain event queue) read the same
numbers and cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import HetsimError
from ..graph import any_topological_order, topological_order
from ..mapping.base import Mapping
from ..topology import Topology
from ..trace import ResourceInfo

QUEUE_POLICIES = ("fifo", "critical-path-first")


@dataclass
class Plan:
    """A mapped task graph flattened into lists indexed by start order (see module doc).

    ``order[i]`` is the i-th task in the deterministic topological order, which is also the
    order in which the reference engine starts its processes. For task ``i``: ``succ[i]``
    lists its successors' indices in increasing order (the order in which their wait
    conditions were registered), ``npred[i]`` counts its predecessors, ``prio[i]`` is its
    queue priority (lower first), ``cost[i]`` its :class:`~hetsim.costs.KernelCost` (None for
    a transfer), ``pool[i]`` the pool index it takes an engine of, ``route[i]`` the channel
    pool indices of a transfer and ``hop_s[i]`` their times.
    """

    order: list[str]
    tasks: list
    succ: list[list[int]]
    npred: list[int]
    prio: list[float]
    cost: list
    pool: list[int]
    route: list[tuple[int, ...]]
    hop_s: list[tuple[float, ...]]
    device: list[str | None]
    res: Resources               # the system's pools, memories and resource constants
    fifo: bool


def _upward_rank(graph: nx.DiGraph, durations: dict[str, float]) -> dict[str, float]:
    """Longest uncontended time from the start of each task to the end of the graph."""
    rank: dict[str, float] = {}
    succ = graph._succ
    for n in reversed(any_topological_order(graph)):
        rank[n] = durations[n] + max((rank[s] for s in succ[n]), default=0.0)
    return rank


_TOPOLOGIES: dict[int, tuple[SystemSpec, Topology]] = {}


def _topology(system: SystemSpec) -> Topology:
    """One Topology (and its route cache) per system object, for runs that reuse a system."""
    hit = _TOPOLOGIES.get(id(system))
    if hit is None or hit[0] is not system:
        if len(_TOPOLOGIES) > 16:
            _TOPOLOGIES.clear()
        hit = _TOPOLOGIES[id(system)] = (system, Topology(system))
    return hit[1]


@dataclass
class Resources:
    """Engine pools (device pools first, then one per link channel) and memories of a system."""

    pool_prefix: list[str]
    pool_count: list[int]
    pool_memory: list[int]       # index of the pool's device memory, -1 for a channel
    pool_index: dict[tuple[str, str], int]
    chan_index: dict[str, int]
    memory_names: list[str]
    memory_Bps: list[float]
    channel_objs: dict[int, object]
    dev_info: dict[str, ResourceInfo]
    chan_info: dict[str, ResourceInfo]
    link_idle_w: dict[str, float]
    topo: Topology
    devices: dict


def resources(system: SystemSpec, mapping: Mapping, power_off_unused: bool) -> Resources:
    """The pools, memories and resource constants both plan builders share."""
    topo = _topology(system)
    devices = {d.name: d for d in system.devices}
    used_devs = set(mapping.assignment.values()) | set(mapping.placement.values())
    pool_prefix: list[str] = []
    pool_count: list[int] = []
    pool_memory: list[int] = []
    pool_index: dict[tuple[str, str], int] = {}
    dev_info: dict[str, ResourceInfo] = {}
    memory_names = [d.name for d in system.devices]
    memory_Bps = [float(d.memory.achievable_bandwidth_Bps) for d in system.devices]
    for di, d in enumerate(system.devices):
        slots: list[str] = []
        for p in d.engines:
            pool_index[(d.name, p.name)] = len(pool_prefix)
            prefix = f"{d.name}/{p.name}"
            pool_prefix.append(prefix)
            pool_count.append(p.count)
            pool_memory.append(di)
            slots.extend(f"{prefix}[{i}]" if p.count > 1 else prefix for i in range(p.count))
        used = not power_off_unused or d.name in used_devs
        dev_info[d.name] = ResourceInfo(d.name, "device", float(d.power.idle_w), tuple(slots), used=used)
    chan_index: dict[str, int] = {}
    channel_objs: dict[int, object] = {}
    for name, ch in topo.channels.items():
        chan_index[name] = len(pool_prefix)
        channel_objs[len(pool_prefix)] = ch
        pool_prefix.append(name)
        pool_count.append(1)
        pool_memory.append(-1)
    chan_info = {name: ResourceInfo(name, "channel", 0.0, (name,), ch.link)
                 for name, ch in topo.channels.items()}
    return Resources(pool_prefix, pool_count, pool_memory, pool_index, chan_index, memory_names,
                     memory_Bps, channel_objs, dev_info, chan_info,
                     {lk.name: float(lk.spec.power.idle_w) for lk in system.links}, topo, devices)


def make_plan(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping, costs: CostModel,
              queue_policy: str, power_off_unused: bool) -> Plan:
    """Flatten *graph* for the engines (raises GraphError on a cycle, CostLookupError early)."""
    if queue_policy not in QUEUE_POLICIES:
        raise HetsimError(f"unknown queue policy {queue_policy!r}; allowed: {', '.join(QUEUE_POLICIES)}")
    order = topological_order(graph)  # the one cycle check of the engine (linear)
    index = {n: i for i, n in enumerate(order)}
    res = resources(system, mapping, power_off_unused)
    topo, devices, pool_index, chan_index = res.topo, res.devices, res.pool_index, res.chan_index

    nodes = graph._node
    succ_adj = graph._succ
    tasks, succ, npred, cost, pool, route, hop_s, device = [], [], [], [], [], [], [], []
    assignment, pools_of = mapping.assignment, mapping.pools
    price = costs.price
    pred_adj = graph._pred
    for n in order:
        t = nodes[n]["task"]
        tasks.append(t)
        ss = [index[s] for s in succ_adj[n]]
        if len(ss) > 1:
            ss.sort()
        succ.append(ss)
        npred.append(len(pred_adj[n]))
        if t.is_transfer:
            r = topo.route(t.src, t.dst, t.nbytes)
            route.append(tuple(chan_index[c.name] for c in r))
            hop_s.append(tuple(c.time_s(t.nbytes) for c in r))
            cost.append(None)
            pool.append(-1)
            device.append(None)
        else:
            dname = assignment[n]
            dev = devices[dname]
            cost.append(price(t, dev))
            pname = pools_of.get(n)
            pool.append(pool_index[(dname, pname if pname is not None else dev.engines[0].name)])
            route.append(())
            hop_s.append(())
            device.append(dname)
    fifo = queue_policy == "fifo"
    if fifo:
        prio = [0.0] * len(order)
    else:
        durations = {n: (sum(hop_s[i]) if cost[i] is None else cost[i].latency_s)
                     for i, n in enumerate(order)}
        rank = _upward_rank(graph, durations)
        prio = [-rank[n] for n in order]
    return Plan(order, tasks, succ, npred, prio, cost, pool, route, hop_s, device, res, fifo)


def slot_names(plan: Plan, p: int) -> tuple[str, ...]:
    """Slot names of pool *p*: ``prefix[i]``, or the bare prefix for a pool of one."""
    prefix, count = plan.res.pool_prefix[p], plan.res.pool_count[p]
    return tuple(f"{prefix}[{i}]" if count > 1 else prefix for i in range(count))
