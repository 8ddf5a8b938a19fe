"""The fast path for large graphs: the plan as numpy arrays, the event loop compiled by numba.

Same schedule as :mod:`.fast` (whose event loop :func:`.kernels.event_loop` replays) and
therefore as the SimPy reference; what changes is the cost around the loop, which dominated
large runs in pure Python:

* the plan (:func:`make_array_plan`) is built in one pass over the graph's dicts in insertion
  order, with costs priced once per distinct (device, pool, kernel, shape, dtype); the start
  order (the same name-lexicographic topological order as :func:`hetsim.graph.
  topological_order`), the successor lists and the critical-path priorities are computed
  on index arrays by compiled loops;
* the trace is kept as arrays: records are sorted by the engine's key with ``numpy.lexsort``
  on (start, end, resource rank, name rank, hop), and the :class:`~hetsim.trace.Record`
  objects are made only when read (:class:`~hetsim.trace.LazyList`), with the values the
  pure-Python path computes.

numba is imported only here (and only for graphs of at least :data:`hetsim.engine.run.COMPILED_MIN_TASKS` tasks, since
loading it and its cached machine code costs a few tenths of a second); without numba the
pure-Python fast path runs instead.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import HetsimError
from ..graph import Step, raise_cycle
from ..mapping.base import Mapping
from ..trace import LazyList, make_record
from .plan import QUEUE_POLICIES, Resources, resources

_AVAILABLE: bool | None = None
_TASK = operator.itemgetter("task")
_STEP, _SHAPE = operator.attrgetter("step"), operator.attrgetter("shape")
_KERNEL_DTYPE = operator.attrgetter("kernel", "dtype")
_VALUES = operator.methodcaller("values")


def available() -> bool:
    """Whether the compiled loop can run here: numba imports and can set up its cache
    (checked once per process; the pure-Python fast path runs otherwise)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            from . import kernels  # noqa: F401  (imports numba, sets up its disk cache)
            _AVAILABLE = True
        except Exception:  # no numba, one that does not match this numpy, or no cache dir
            _AVAILABLE = False
    return _AVAILABLE


@dataclass
class ArrayPlan:
    """A mapped graph as arrays in start order (the order of :class:`.plan.Plan`)."""

    names: list[str]             # task names in start order
    tasks: list                  # Task objects in start order
    name_rank: np.ndarray        # rank of each task's name in sorted order
    is_xfer: np.ndarray
    pool: np.ndarray             # engine pool, -1 for a transfer
    cost_idx: np.ndarray         # index into ucosts, -1 for a transfer
    ucosts: list                 # distinct KernelCost objects
    ovh: np.ndarray
    work: np.ndarray
    memb: np.ndarray
    mem_of: np.ndarray
    npred: np.ndarray
    succ_ptr: np.ndarray
    succ_idx: np.ndarray
    prio: np.ndarray
    route_ptr: np.ndarray        # hops of transfer i: route_ptr[i] .. route_ptr[i + 1]
    route_pool: np.ndarray
    route_hop: np.ndarray
    udev: list                   # device name of each distinct cost
    edges_src: np.ndarray        # the graph's edges in its own order, as graph indices
    edges_dst: np.ndarray
    graph_names: list[str]       # names in graph order (for the edges)
    res: Resources
    fifo: bool


def make_array_plan(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping, costs: CostModel,
                    queue_policy: str, power_off_unused: bool) -> ArrayPlan:
    """Flatten *graph* into arrays (GraphError on a cycle, CostLookupError before the clock)."""
    from .kernels import lex_topo_order, upward_rank

    if queue_policy not in QUEUE_POLICIES:
        raise HetsimError(f"unknown queue policy {queue_policy!r}; allowed: {', '.join(QUEUE_POLICIES)}")
    res = resources(system, mapping, power_off_unused)
    nodes, succ_adj, pred_adj = graph._node, graph._succ, graph._pred
    gnames = list(nodes)
    n = len(gnames)
    gindex = dict(zip(gnames, range(n)))
    deg = np.fromiter(map(len, succ_adj.values()), np.int64, n)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(deg, out=ptr[1:])
    ne = int(ptr[-1])
    dst = np.fromiter(map(gindex.__getitem__, itertools.chain.from_iterable(succ_adj.values())), np.int64, ne)
    src = np.repeat(np.arange(n, dtype=np.int64), deg)
    indeg = np.fromiter(map(len, pred_adj.values()), np.int64, n)
    # start order: smallest name first among the ready tasks (hetsim.graph.topological_order)
    by_rank = np.array(sorted(range(n), key=gnames.__getitem__), dtype=np.int64)
    rank = np.empty(n, np.int64)
    rank[by_rank] = np.arange(n, dtype=np.int64)
    order = lex_topo_order(ptr, dst, indeg, rank, by_rank) if n else np.zeros(0, np.int64)
    if len(order) != n:
        raise_cycle(graph)
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n, dtype=np.int64)
    # successors in start order, each list sorted
    s_src, s_dst = pos[src], pos[dst]
    k = np.lexsort((s_dst, s_src))
    succ_idx = s_dst[k]
    succ_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(s_src, minlength=n), out=succ_ptr[1:])

    # per task (graph order): price once per distinct device, pool, kernel, shape, dtype
    # (C-level maps over the task list; a Python loop only per distinct key and per transfer)
    tasks_g = list(map(_TASK, nodes.values()))
    assignment, pools_of = mapping.assignment, mapping.pools
    devices, pool_index, chan_index, topo = res.devices, res.pool_index, res.chan_index, res.topo
    xfer_l = list(map(operator.is_, map(_STEP, tasks_g), itertools.repeat(Step.TRANSFER)))
    shapes = list(map(_SHAPE, tasks_g))
    keys = list(zip(map(assignment.get, gnames),
                    map(pools_of.get, gnames) if pools_of else itertools.repeat(None),
                    map(_KERNEL_DTYPE, tasks_g), map(tuple, shapes), map(tuple, map(_VALUES, shapes))))
    uniq: dict = {}
    codes = [uniq.setdefault(k, len(uniq)) for k in keys]
    ucosts: list = []
    upool: list = []
    udev: list = []
    hops_g: dict[int, tuple] = {}
    for gi in (i for i, x in enumerate(xfer_l) if x):
        t = tasks_g[gi]
        r = topo.route(t.src, t.dst, t.nbytes)
        hops_g[gi] = (tuple(chan_index[c.name] for c in r), tuple(c.time_s(t.nbytes) for c in r))
    xfer_g = np.array(xfer_l, np.bool_)
    cost_g = np.array(codes, np.int64)
    computes = np.flatnonzero(~xfer_g)
    ucode, at = np.unique(cost_g[computes], return_index=True)
    first = dict(zip(ucode.tolist(), computes[at].tolist()))  # key -> its first compute task
    for code, k in enumerate(uniq):
        gi = first.get(code)
        if gi is None:  # a key of transfers only
            ucosts.append(None)
            upool.append(-1)
            udev.append(None)
            continue
        t, dname, pname = tasks_g[gi], k[0], k[1]
        dev = devices[assignment[gnames[gi]]]
        ucosts.append(costs.price(t, dev))
        upool.append(pool_index[(dname, pname if pname is not None else dev.engines[0].name)])
        udev.append(dname)
    cost_g[xfer_g] = -1
    pool_g = np.array(upool + [-1], np.int64)[cost_g]
    cost_idx = cost_g[order]
    pool = pool_g[order]
    is_xfer = xfer_g[order]
    c_ovh = np.array([c.overhead_s if c is not None else 0.0 for c in ucosts] + [0.0])
    c_work = np.array([c.work_s if c is not None else 0.0 for c in ucosts] + [0.0])
    c_memb = np.array([float(c.mem_bytes) if c is not None else 0.0 for c in ucosts] + [0.0])
    ovh, work, memb = c_ovh[cost_idx], c_work[cost_idx], c_memb[cost_idx]  # -1: the 0.0 row
    pool_mem = np.array(res.pool_memory + [-1], np.int64)
    mem_of = pool_mem[pool]
    npred = indeg[order]
    # transfers' routes, in start order
    hop_counts = np.zeros(n, np.int64)
    xpos = sorted((int(pos[gi]), gi) for gi in hops_g)
    for p_, gi in xpos:
        hop_counts[p_] = len(hops_g[gi][0])
    route_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(hop_counts, out=route_ptr[1:])
    route_pool = np.array([c for _, gi in xpos for c in hops_g[gi][0]], np.int64)
    route_hop = np.array([h for _, gi in xpos for h in hops_g[gi][1]], np.float64)
    fifo = queue_policy == "fifo"
    if fifo:
        prio = np.zeros(n)
    else:
        c_lat = np.array([c.latency_s if c is not None else 0.0 for c in ucosts] + [0.0])
        dur = c_lat[cost_idx]
        for p_, gi in xpos:
            dur[p_] = sum(hops_g[gi][1])
        prio = -upward_rank(succ_ptr, succ_idx, dur)
    order_l = order.tolist()
    pick = operator.itemgetter(*order_l) if n > 1 else (lambda seq: [seq[g] for g in order_l])
    return ArrayPlan(
        list(pick(gnames)), list(pick(tasks_g)), rank[order], is_xfer, pool,
        cost_idx, ucosts, ovh, work, memb, mem_of, npred, succ_ptr, succ_idx, prio, route_ptr,
        route_pool, route_hop, udev, src, dst, gnames, res, fifo)


def run_compiled(plan: ArrayPlan) -> tuple[LazyList, dict[str, float], LazyList]:
    """Simulate *plan*: (records in the engine's sort order, bytes per memory, edges)."""
    from .kernels import event_loop

    res = plan.res
    n = len(plan.names)
    pool_count = np.array(res.pool_count, np.int64)
    pool_mem = np.array(res.pool_memory, np.int64)
    nmem = len(res.memory_Bps)
    mem_flows_cap = np.array([int(pool_count[pool_mem == m].sum()) for m in range(nmem)], np.int64)
    (ready, start, end, slot, hop_start, hop_end, hop_ready, served, finished) = event_loop(
        plan.fifo, plan.is_xfer, plan.pool, plan.ovh, plan.work, plan.memb, plan.mem_of,
        plan.npred, plan.succ_ptr, plan.succ_idx, plan.prio, plan.route_ptr, plan.route_pool,
        plan.route_hop, pool_count, np.array(res.memory_Bps, np.float64), mem_flows_cap)
    if finished != n:  # pragma: no cover - would be an engine bug
        raise RuntimeError("simulation ended with unfinished tasks")

    # records: compute tasks (index = task) then hops (index = nc + hop), in sort-key order
    comp = np.flatnonzero(~plan.is_xfer)
    nh = len(hop_start)
    hop_task = np.repeat(np.arange(n, dtype=np.int64), np.diff(plan.route_ptr))
    hop_no = np.arange(nh, dtype=np.int64) - plan.route_ptr[hop_task]
    # resource names: slots of every pool (channels are pools of one), ranked by name
    slot_off = np.zeros(len(pool_count) + 1, np.int64)
    np.cumsum(pool_count, out=slot_off[1:])
    slot_names = [f"{pref}[{i}]" if c > 1 else pref for pref, c in zip(res.pool_prefix, res.pool_count)
                  for i in range(c)]
    rank_of = {s: r for r, s in enumerate(sorted(set(slot_names)))}  # equal names, equal rank
    slot_rank = np.array([rank_of[s] for s in slot_names], np.int64)
    c_slot = slot_off[plan.pool[comp]] + slot[comp]
    h_slot = slot_off[plan.route_pool] if nh else np.zeros(0, np.int64)
    r_start = np.concatenate((start[comp], hop_start))
    r_end = np.concatenate((end[comp], hop_end))
    key = np.lexsort((np.concatenate((np.zeros(len(comp), np.int64), hop_no)),
                      plan.name_rank[np.concatenate((comp, hop_task))],
                      slot_rank[np.concatenate((c_slot, h_slot))], r_end, r_start))
    nc = len(comp)

    def build() -> list:
        tasks, ucosts, udev = plan.tasks, plan.ucosts, plan.udev
        cidx = plan.cost_idx.tolist()
        chan_rows = {}
        for p, ch in res.channel_objs.items():
            power = ch.spec.power
            chan_rows[p] = (ch.name, float(power.active_w) - float(power.idle_w),
                            float(power.energy_per_byte_j), f"link:{ch.spec.direction(ch.forward).model}")
        rs, re_, rd = r_start.tolist(), r_end.tolist(), np.concatenate((ready[comp], hop_ready)).tolist()
        ct, cs = comp.tolist(), c_slot.tolist()
        ht, hn, hp = hop_task.tolist(), hop_no.tolist(), plan.route_pool.tolist()
        out = []
        for k in key.tolist():
            st, en, rdy = rs[k], re_[k], rd[k]
            if k < nc:
                i = ct[k]
                c = cidx[i]
                t, cost = tasks[i], ucosts[c]
                extra_w = cost.extra_power_w
                out.append(make_record((
                    t.name, "task", t.step.value, udev[c], slot_names[cs[k]], st, en, rdy,
                    cost.overhead_s, cost.mem_bytes, cost.flop, extra_w, extra_w * (en - st),
                    cost.source, cost.extrapolated, t.layer, 0)))
            else:
                h = k - nc
                t = tasks[ht[h]]
                cname, extra_w, per_byte, source = chan_rows[hp[h]]
                out.append(make_record((
                    t.name, "hop", t.step.value, None, cname, st, en, rdy, 0.0, float(t.nbytes),
                    0.0, extra_w, extra_w * (en - st) + per_byte * t.nbytes, source, False,
                    t.layer, hn[h])))
        return out

    src, dst, gnames = plan.edges_src, plan.edges_dst, plan.graph_names
    edges = LazyList(len(src), lambda: [(gnames[u], gnames[v]) for u, v in zip(src.tolist(), dst.tolist())])
    memory_bytes = {name: float(b) for name, b in zip(res.memory_names, served.tolist())}
    return LazyList(nc + nh, build), memory_bytes, edges
