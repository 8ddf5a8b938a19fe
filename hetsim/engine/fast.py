"""The fast engine path: the reference engine's schedule without SimPy's machinery.

It replays exactly the events the reference engine (:mod:`.reference`) schedules — a task's
"done" event, its gate opening, an engine grant, a release, a timeout, a bandwidth wake-up —
in the same order, so traces are identical record for record, float for float. What it
drops is the cost around them: no generators, no Event objects, no Process or Initialize
events, no condition values.

Ordering argument: SimPy processes events by (time, priority, insertion counter). After the
start (every process is initialised at t=0 before anything else, which here is a plain loop
in start order), every event has normal priority, so the events due *now* form a FIFO queue
in scheduling order, and future events (timeouts) sit in a heap by (time, counter). When
the FIFO empties, every heap event of the next instant moves to it at once, in counter order;
an event scheduled for the current instant is appended, as SimPy's larger counter would
place it. Bandwidth sharing is :class:`~.resources.SharedBandwidth`'s water-filling, with the
same float operations in the same order.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from ..trace import make_record
from .plan import Plan, slot_names

_TOL = 1e-9


class _Memory:
    """SharedBandwidth's state and arithmetic, driven by the fast loop."""

    __slots__ = ("capacity", "flows", "t", "gen", "bytes_served", "next_id")

    def __init__(self, capacity_Bps: float):
        self.capacity = float(capacity_Bps)
        self.flows: dict[int, list] = {}  # id -> [remaining_B, cap_Bps, task, total_B, rate]
        self.t = 0.0
        self.gen = 0
        self.bytes_served = 0.0
        self.next_id = 0

    def advance(self, now: float) -> None:
        dt = now - self.t
        if dt > 0 and self.flows:
            for f in self.flows.values():
                moved = min(f[0], f[4] * dt)
                f[0] -= moved
                self.bytes_served += moved
        self.t = now

    def allocate(self) -> float:
        """Water-filling rates; return the time to the next flow's end."""
        left, n = self.capacity, len(self.flows)
        if n == 1:  # the common case; the same float operations as the loop below
            for f in self.flows.values():
                f[4] = min(f[1], left / 1)
                return f[0] / f[4]
        for _fid, f in sorted(self.flows.items(), key=lambda kv: (kv[1][1], kv[0])):
            f[4] = min(f[1], left / n)
            left -= f[4]
            n -= 1
        return min(f[0] / f[4] for f in self.flows.values())


def run_fast(plan: Plan) -> tuple[list, dict[str, float]]:
    """Simulate *plan*; same return value as :func:`.reference.run_reference`."""
    n = len(plan.order)
    succ, prio, tasks, costs = plan.succ, plan.prio, plan.tasks, plan.cost
    task_pool, routes, hops = plan.pool, plan.route, plan.hop_s
    pool_memory, devices = plan.res.pool_memory, plan.device
    npools = len(plan.res.pool_prefix)
    names = [slot_names(plan, p) for p in range(npools)]
    capacity = list(plan.res.pool_count)
    users = [0] * npools
    free = [list(range(c)) for c in capacity]
    fifo = plan.fifo
    queues = [deque() for _ in range(npools)] if fifo else [[] for _ in range(npools)]
    memories = [_Memory(bw) for bw in plan.res.memory_Bps]
    pending = list(plan.npred)
    ready = [0.0] * n
    start = [0.0] * n
    slot_of = [0] * n
    hop_at = [0] * n
    seq = 0
    req_seq = 0
    now = 0.0
    heap: list = []  # (time, counter, kind, arg)
    fifo_now: deque = deque()  # (kind, arg) due at `now`, in scheduling order
    rows: list = []
    channel_rows = {}
    for p, ch in plan.res.channel_objs.items():
        power = ch.spec.power
        channel_rows[p] = (ch.name, float(power.active_w) - float(power.idle_w),
                           float(power.energy_per_byte_j), f"link:{ch.spec.direction(ch.forward).model}")
    # per-task constants, looked up once
    ovh = [c.overhead_s if c is not None else 0.0 for c in costs]
    work_s = [c.work_s if c is not None else 0.0 for c in costs]
    mem_b = [c.mem_bytes if c is not None else 0.0 for c in costs]
    mem_of = [pool_memory[p] if p >= 0 else -1 for p in task_pool]
    done_at: list = []  # (i, slot, end) of finished compute tasks
    finished = 0
    push, pop = heapq.heappush, heapq.heappop
    nmem = len(memories)
    is_xfer = [c is None for c in costs]
    # An event is one int, arg * 8 + kind; the hot path is inlined (no calls per event).
    # kinds: 0 done, 1 gate, 2 grant, 3 timer, 4 release, 5 wake (arg = gen * nmem + memory),
    # 6 flow done
    fifo_now: deque = deque()
    now_append, now_pop = fifo_now.append, fifo_now.popleft
    heap: list = []  # (time, counter, event)

    def request(p: int, i: int) -> None:
        nonlocal req_seq
        q = queues[p]
        if fifo:
            q.append(i)
        else:
            push(q, (prio[i], now, req_seq, i))
            req_seq += 1
        if users[p] < capacity[p]:  # the queue is non-empty: it holds i at least
            users[p] += 1
            now_append((q.popleft() if fifo else pop(q)[3]) * 8 + 2)

    def start_flow(i: int, w: float, b: float) -> None:
        nonlocal seq
        mi = mem_of[i]
        m = memories[mi]
        m.advance(now)
        m.flows[m.next_id] = [float(b), float(b / w), i, float(b), 0.0]
        m.next_id += 1
        m.gen += 1
        dt = m.allocate()
        t = now + max(dt, 0.0)
        code = (m.gen * nmem + mi) * 8 + 5
        if t == now:
            now_append(code)
        else:
            push(heap, (t, seq, code))
            seq += 1

    # start: the reference engine initialises every process at t=0, in start order
    for i in range(n):
        if not pending[i]:
            if is_xfer[i]:
                if routes[i]:
                    request(routes[i][0], i)
                else:
                    finished += 1
                    now_append(i * 8)
            else:
                request(task_pool[i], i)

    while True:
        if not fifo_now:
            if not heap:
                break
            now = heap[0][0]
            while heap and heap[0][0] == now:
                now_append(pop(heap)[2])
        code = now_pop()
        kind = code & 7
        i = code >> 3
        if kind == 0:  # done: open the gates of successors whose last input this was
            for s in succ[i]:
                c = pending[s] - 1
                pending[s] = c
                if c == 0:
                    now_append(s * 8 + 1)
        elif kind == 1:  # gate open: the task is ready and asks for an engine or channel
            ready[i] = now
            if is_xfer[i]:
                if routes[i]:
                    hop_at[i] = 0
                    request(routes[i][0], i)
                else:
                    finished += 1
                    now_append(i * 8)
            else:
                request(task_pool[i], i)
        elif kind == 2:  # granted: take the lowest free slot, start
            if is_xfer[i]:
                p = routes[i][hop_at[i]]
                delay = hops[i][hop_at[i]]
            else:
                p = task_pool[i]
                delay = ovh[i]
            slot_of[i] = free[p].pop(0)
            start[i] = now
            if delay > 0 or is_xfer[i]:
                t = now + delay
                if t == now:
                    now_append(i * 8 + 3)
                else:
                    push(heap, (t, seq, i * 8 + 3))
                    seq += 1
            else:
                w = work_s[i]
                if w > 0:
                    b = mem_b[i]
                    if b > 0:
                        start_flow(i, w, b)
                    else:
                        t = now + w
                        if t == now:
                            now_append(i * 8 + 6)
                        else:
                            push(heap, (t, seq, i * 8 + 6))
                            seq += 1
                else:  # no work at all: release, record and finish in this same step
                    p = task_pool[i]
                    fr = free[p]
                    fr.append(slot_of[i])
                    fr.sort()
                    users[p] -= 1
                    now_append(p * 8 + 4)
                    done_at.append((i, slot_of[i], now))
                    finished += 1
                    now_append(i * 8)
        elif kind == 3:  # timer: an overhead or a transfer hop is over
            if not is_xfer[i]:
                w = work_s[i]
                if w > 0:
                    b = mem_b[i]
                    if b > 0:
                        start_flow(i, w, b)
                    else:
                        t = now + w
                        if t == now:
                            now_append(i * 8 + 6)
                        else:
                            push(heap, (t, seq, i * 8 + 6))
                            seq += 1
                    continue
                p = task_pool[i]
                fr = free[p]
                fr.append(slot_of[i])
                fr.sort()
                users[p] -= 1
                now_append(p * 8 + 4)
                done_at.append((i, slot_of[i], now))
                finished += 1
                now_append(i * 8)
                continue
            h = hop_at[i]
            p = routes[i][h]
            fr = free[p]
            fr.append(slot_of[i])
            fr.sort()
            users[p] -= 1
            now_append(p * 8 + 4)
            t = tasks[i]
            cname, extra_w, per_byte, source = channel_rows[p]
            st = start[i]
            rows.append((t.name, "hop", t.step.value, None, cname, st, now, ready[i], 0.0,
                         float(t.nbytes), 0.0, extra_w,
                         extra_w * (now - st) + per_byte * t.nbytes, source, False, t.layer, h))
            h += 1
            if h < len(routes[i]):
                hop_at[i] = h
                ready[i] = now
                request(routes[i][h], i)
            else:
                finished += 1
                now_append(i * 8)
        elif kind == 6:  # work done: give the engine back, record, done
            p = task_pool[i]
            fr = free[p]
            fr.append(slot_of[i])
            fr.sort()
            users[p] -= 1
            now_append(p * 8 + 4)
            done_at.append((i, slot_of[i], now))
            finished += 1
            now_append(i * 8)
        elif kind == 4:  # release processed: serve the head of the queue
            q = queues[i]
            if q and users[i] < capacity[i]:
                users[i] += 1
                now_append((q.popleft() if fifo else pop(q)[3]) * 8 + 2)
        else:  # wake of a memory: finish the flows that are done, re-plan the others
            mi = i % nmem
            m = memories[mi]
            if i // nmem != m.gen:
                continue  # superseded by a later arrival or departure
            m.advance(now)
            tick = 4 * math.ulp(now)
            flows = m.flows
            done = [fid for fid, f in flows.items()
                    if f[0] <= _TOL * max(1.0, f[3]) or f[0] / f[4] <= tick]
            for fid in done:
                f = flows.pop(fid)
                m.bytes_served += f[0]
                now_append(f[2] * 8 + 6)
            m.gen += 1
            if flows:
                dt = m.allocate()
                t = now + max(dt, 0.0)
                code = (m.gen * nmem + mi) * 8 + 5
                if t == now:
                    now_append(code)
                else:
                    push(heap, (t, seq, code))
                    seq += 1
    if finished != n:  # pragma: no cover - would be an engine bug
        raise RuntimeError("simulation ended with unfinished tasks")
    for i, slot, end in done_at:
        cost, t = costs[i], tasks[i]
        st, extra_w = start[i], cost.extra_power_w
        rows.append((t.name, "task", t.step.value, devices[i], names[task_pool[i]][slot], st, end,
                     ready[i], cost.overhead_s, cost.mem_bytes, cost.flop, extra_w,
                     extra_w * (end - st), cost.source, cost.extrapolated, t.layer, 0))
    return ([make_record(r) for r in rows],
            {name: m.bytes_served for name, m in zip(plan.res.memory_names, memories)})
