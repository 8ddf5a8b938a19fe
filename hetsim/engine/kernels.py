"""The compiled fast path's loops, written in the subset of Python that numba compiles.

:func:`event_loop` is :func:`.fast.run_fast`'s event loop over integer and float arrays: the
same events (one int each, ``task * 8 + kind``), the same FIFO of events due now plus a heap
of future ones by (time, counter), the same water-filling float operations in the same order
(numba compiles without fastmath, so no reassociation and no FMA contraction), so its
schedule is the reference engine's, float for float (``tests/test_fast_engine.py``).
:func:`lex_topo_order` and :func:`upward_rank` are :mod:`.plan`'s start order and
critical-path priority over compressed successor lists.

Importing this module imports numba; :mod:`.compiled` does so only for graphs large enough
to repay it. Functions are compiled on first call and cached on disk (``cache=True``; numba
falls back to a per-user cache directory when the package directory is read-only).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

_TOL = 1e-9
_I8 = np.int64


@njit(cache=True)
def lex_topo_order(ptr, idx, indeg, rank, by_rank):
    """Kahn's algorithm taking the smallest *rank* (name order) of the ready tasks first.

    Returns task indices in start order; fewer than all of them when the graph has a cycle.
    """
    n = indeg.shape[0]
    deg = indeg.copy()
    heap = [_I8(0)] * 0
    for v in range(n):
        if deg[v] == 0:
            heap.append(rank[v])
    heapq.heapify(heap)
    out = np.empty(n, np.int64)
    k = 0
    while len(heap) > 0:
        v = by_rank[heapq.heappop(heap)]
        out[k] = v
        k += 1
        for e in range(ptr[v], ptr[v + 1]):
            s = idx[e]
            deg[s] -= 1
            if deg[s] == 0:
                heapq.heappush(heap, rank[s])
    return out[:k]


@njit(cache=True)
def upward_rank(ptr, idx, dur):
    """Longest uncontended time from each task's start to the graph's end (tasks in start
    order, so successors have larger indices)."""
    n = dur.shape[0]
    rank = np.zeros(n)
    for v in range(n - 1, -1, -1):
        m = 0.0
        first = True
        for e in range(ptr[v], ptr[v + 1]):
            r = rank[idx[e]]
            if first or r > m:
                m = r
                first = False
        rank[v] = dur[v] + m
    return rank


@njit(cache=True)
def _push_now(buf, head, tail, code):
    if tail == buf.shape[0]:
        if head > 0:
            buf[: tail - head] = buf[head:tail]
            tail -= head
            head = 0
        else:
            nb = np.empty(2 * buf.shape[0], np.int64)
            nb[:tail] = buf[:tail]
            buf = nb
    buf[tail] = code
    return buf, head, tail + 1


@njit(cache=True)
def _less(qp, qt, qs, a, b):
    """Priority-queue order of entries a and b: (priority, request time, request counter)."""
    if qp[a] != qp[b]:
        return qp[a] < qp[b]
    if qt[a] != qt[b]:
        return qt[a] < qt[b]
    return qs[a] < qs[b]


@njit(cache=True)
def _swap(qp, qt, qs, qi, a, b):
    """Swap entries a and b of the priority heap's four parallel arrays."""
    qp[a], qp[b] = qp[b], qp[a]
    qt[a], qt[b] = qt[b], qt[a]
    qs[a], qs[b] = qs[b], qs[a]
    qi[a], qi[b] = qi[b], qi[a]


@njit(cache=True)
def _pq_push(qp, qt, qs, qi, off, size, p, pr, t, s, i):
    base = off[p]
    j = size[p]
    size[p] = j + 1
    qp[base + j], qt[base + j], qs[base + j], qi[base + j] = pr, t, s, i
    while j > 0:
        parent = (j - 1) >> 1
        a, b = base + j, base + parent
        if _less(qp, qt, qs, a, b):
            _swap(qp, qt, qs, qi, a, b)
            j = parent
        else:
            break


@njit(cache=True)
def _pq_pop(qp, qt, qs, qi, off, size, p):
    base = off[p]
    top = qi[base]
    m = size[p] - 1
    size[p] = m
    if m > 0:
        qp[base], qt[base], qs[base], qi[base] = qp[base + m], qt[base + m], qs[base + m], qi[base + m]
        j = 0
        while True:
            c = 2 * j + 1
            if c >= m:
                break
            if c + 1 < m and _less(qp, qt, qs, base + c + 1, base + c):
                c += 1
            a, b = base + c, base + j
            if _less(qp, qt, qs, a, b):
                _swap(qp, qt, qs, qi, a, b)
                j = c
            else:
                break
    return top


@njit(cache=True)
def _slot_pop(fs, off, size, p):
    """Take the lowest free slot of pool p (a min-heap per pool)."""
    base = off[p]
    top = fs[base]
    m = size[p] - 1
    size[p] = m
    if m > 0:
        fs[base] = fs[base + m]
        j = 0
        while True:
            c = 2 * j + 1
            if c >= m:
                break
            if c + 1 < m and fs[base + c + 1] < fs[base + c]:
                c += 1
            if fs[base + c] < fs[base + j]:
                fs[base + c], fs[base + j] = fs[base + j], fs[base + c]
                j = c
            else:
                break
    return top


@njit(cache=True)
def _slot_push(fs, off, size, p, slot):
    base = off[p]
    j = size[p]
    size[p] = j + 1
    fs[base + j] = slot
    while j > 0:
        parent = (j - 1) >> 1
        if fs[base + j] < fs[base + parent]:
            fs[base + j], fs[base + parent] = fs[base + parent], fs[base + j]
            j = parent
        else:
            break


@njit(cache=True)
def _advance(mi, now, mem_t, mem_served, act, act_off, act_n, f_rem, f_rate):
    dt = now - mem_t[mi]
    if dt > 0:
        base = act_off[mi]
        for k in range(act_n[mi]):
            f = act[base + k]
            moved = min(f_rem[f], f_rate[f] * dt)
            f_rem[f] -= moved
            mem_served[mi] += moved
    mem_t[mi] = now


@njit(cache=True)
def _allocate(mi, cap, act, act_off, act_n, f_rem, f_cap, f_rate, tmp):
    """Water-filling rates of memory mi's flows; the time to the next flow's end."""
    base = act_off[mi]
    k = act_n[mi]
    left = cap[mi]
    if k == 1:
        f = act[base]
        f_rate[f] = min(f_cap[f], left / 1)
        return f_rem[f] / f_rate[f]
    # flows by (rate cap, arrival): act is in arrival order, so a stable insertion sort on cap
    for j in range(k):
        f = act[base + j]
        q = j
        while q > 0 and f_cap[tmp[q - 1]] > f_cap[f]:
            tmp[q] = tmp[q - 1]
            q -= 1
        tmp[q] = f
    m = k
    for j in range(k):
        f = tmp[j]
        f_rate[f] = min(f_cap[f], left / m)
        left -= f_rate[f]
        m -= 1
    best = f_rem[act[base]] / f_rate[act[base]]
    for j in range(1, k):
        f = act[base + j]
        v = f_rem[f] / f_rate[f]
        if v < best:
            best = v
    return best


@njit(cache=True)
def _fpush(ht, hs, hc, m, t, s, c):
    """Push event c at time t with counter s on the future-event heap (arrays, m entries)."""
    if m == ht.shape[0]:
        nt = np.empty(2 * m, np.float64)
        ns = np.empty(2 * m, np.int64)
        nc = np.empty(2 * m, np.int64)
        nt[:m] = ht
        ns[:m] = hs
        nc[:m] = hc
        ht, hs, hc = nt, ns, nc
    j = m
    while j > 0:
        parent = (j - 1) >> 1
        if t < ht[parent] or (t == ht[parent] and s < hs[parent]):
            ht[j], hs[j], hc[j] = ht[parent], hs[parent], hc[parent]
            j = parent
        else:
            break
    ht[j], hs[j], hc[j] = t, s, c
    return ht, hs, hc, m + 1


@njit(cache=True)
def _fpop(ht, hs, hc, m):
    """Pop the earliest (time, counter) event; returns (code, m - 1)."""
    top = hc[0]
    m -= 1
    if m > 0:
        t, s, c = ht[m], hs[m], hc[m]
        j = 0
        while True:
            ch = 2 * j + 1
            if ch >= m:
                break
            if ch + 1 < m and (ht[ch + 1] < ht[ch] or (ht[ch + 1] == ht[ch] and hs[ch + 1] < hs[ch])):
                ch += 1
            if ht[ch] < t or (ht[ch] == t and hs[ch] < s):
                ht[j], hs[j], hc[j] = ht[ch], hs[ch], hc[ch]
                j = ch
            else:
                break
        ht[j], hs[j], hc[j] = t, s, c
    return top, m


@njit(cache=True)
def _request(p, i, now, fifo, prio, users, pool_count, qhead, qtail, qnext, qtask, qcount,
             qp, qt, qs, qi, q_off, q_size, req_seq, buf, head, tail):
    """Task i asks for an engine (or channel) of pool p: queue it; grant the head now if an
    engine is free (a grant event, as SimPy's request/put does)."""
    if fifo:
        nd = qcount
        qcount += 1
        qtask[nd] = i
        qnext[nd] = -1
        if qhead[p] < 0:
            qhead[p] = nd
        else:
            qnext[qtail[p]] = nd
        qtail[p] = nd
    else:
        _pq_push(qp, qt, qs, qi, q_off, q_size, p, prio[i], now, req_seq, i)
        req_seq += 1
    if users[p] < pool_count[p]:  # the queue holds i at least
        users[p] += 1
        if fifo:
            nd = qhead[p]
            qhead[p] = qnext[nd]
            g = qtask[nd]
        else:
            g = _pq_pop(qp, qt, qs, qi, q_off, q_size, p)
        buf, head, tail = _push_now(buf, head, tail, g * 8 + 2)
    return buf, head, tail, qcount, req_seq


@njit(cache=True)
def event_loop(fifo, is_xfer, pool, ovh, work, memb, mem_of, npred, succ_ptr, succ_idx, prio,
               route_ptr, route_pool, route_hop, pool_count, mem_cap, mem_flows_cap):
    """Run the schedule (see :func:`.fast.run_fast`, whose events this replays).

    Returns (ready, start, end, slot, hop_start, hop_end, hop_ready, bytes served per memory,
    tasks finished). Compute task i's record uses ready/start/end/slot[i]; hop h of transfer
    i uses index route_ptr[i] + h of the hop arrays.
    """
    n = is_xfer.shape[0]
    npools = pool_count.shape[0]
    nmem = mem_cap.shape[0]
    users = np.zeros(npools, np.int64)
    # free slots: one min-heap per pool in a flat array
    fs_off = np.zeros(npools + 1, np.int64)
    for p in range(npools):
        fs_off[p + 1] = fs_off[p] + pool_count[p]
    fs = np.empty(max(fs_off[npools], 1), np.int64)
    fs_size = pool_count.copy()
    for p in range(npools):
        for s in range(pool_count[p]):
            fs[fs_off[p] + s] = s
    # request queues: FIFO = linked list of request nodes; else a heap per pool
    nreq = np.zeros(npools, np.int64)
    for i in range(n):
        if is_xfer[i]:
            for e in range(route_ptr[i], route_ptr[i + 1]):
                nreq[route_pool[e]] += 1
        else:
            nreq[pool[i]] += 1
    total_req = 0
    for p in range(npools):
        total_req += nreq[p]
    qhead = np.full(npools, -1, np.int64)
    qtail = np.full(npools, -1, np.int64)
    qnext = np.empty(max(total_req, 1), np.int64)
    qtask = np.empty(max(total_req, 1), np.int64)
    qcount = 0
    q_off = np.zeros(npools, np.int64)
    for p in range(1, npools):
        q_off[p] = q_off[p - 1] + nreq[p - 1]
    q_size = np.zeros(npools, np.int64)
    heap_n = 1 if fifo else max(total_req, 1)
    qp = np.empty(heap_n)
    qt = np.empty(heap_n)
    qs = np.empty(heap_n, np.int64)
    qi = np.empty(heap_n, np.int64)
    req_seq = 0
    # memories: flows by id (in arrival order), the active ones per memory in arrival order
    f_rem = np.empty(max(n, 1))
    f_cap = np.empty(max(n, 1))
    f_task = np.empty(max(n, 1), np.int64)
    f_total = np.empty(max(n, 1))
    f_rate = np.empty(max(n, 1))
    nflows = 0
    act_off = np.zeros(nmem + 1, np.int64)
    for mi in range(nmem):
        act_off[mi + 1] = act_off[mi] + mem_flows_cap[mi]
    act = np.empty(max(act_off[nmem], 1), np.int64)
    act_n = np.zeros(nmem, np.int64)
    tmp = np.empty(max(act_off[nmem], 1), np.int64)
    mem_t = np.zeros(nmem)
    mem_gen = np.zeros(nmem, np.int64)
    mem_served = np.zeros(nmem)
    # per task / per hop results
    pending = npred.copy()
    ready = np.zeros(n)
    start = np.zeros(n)
    end = np.zeros(n)
    slot_of = np.zeros(n, np.int64)
    hop_at = np.zeros(n, np.int64)
    nh = route_ptr[n]
    hop_start = np.zeros(nh)
    hop_end = np.zeros(nh)
    hop_ready = np.zeros(nh)
    finished = 0
    now = 0.0
    seq = 0
    buf = np.empty(1024, np.int64)
    head = 0
    tail = 0
    ht = np.empty(1024, np.float64)  # future events: a heap of (time, counter) -> event
    hs = np.empty(1024, np.int64)
    hc = np.empty(1024, np.int64)
    hm = 0

    # the start: every task without predecessors asks for its first resource, in start order
    for i in range(n):
        if pending[i] != 0:
            continue
        if is_xfer[i] and route_ptr[i + 1] == route_ptr[i]:
            finished += 1
            buf, head, tail = _push_now(buf, head, tail, i * 8)
            continue
        p = route_pool[route_ptr[i]] if is_xfer[i] else pool[i]
        buf, head, tail, qcount, req_seq = _request(
            p, i, now, fifo, prio, users, pool_count, qhead, qtail, qnext, qtask, qcount,
            qp, qt, qs, qi, q_off, q_size, req_seq, buf, head, tail)

    while True:
        if head == tail:
            if hm == 0:
                break
            now = ht[0]
            while hm > 0 and ht[0] == now:
                c, hm = _fpop(ht, hs, hc, hm)
                buf, head, tail = _push_now(buf, head, tail, c)
        code = buf[head]
        head += 1
        if head == tail:
            head = 0
            tail = 0
        kind = code & 7
        i = code >> 3
        req = -1  # a pool task i asks for after this event, if any
        phase = 0  # 2: start the work phase of compute task i; 3: end a hop; 4: end task i
        if kind == 0:  # done: open the gates of successors whose last input this was
            for e in range(succ_ptr[i], succ_ptr[i + 1]):
                s = succ_idx[e]
                pending[s] -= 1
                if pending[s] == 0:
                    buf, head, tail = _push_now(buf, head, tail, s * 8 + 1)
        elif kind == 1:  # gate open: ready, ask for an engine or the first channel
            ready[i] = now
            if is_xfer[i]:
                if route_ptr[i + 1] > route_ptr[i]:
                    hop_at[i] = 0
                    req = route_pool[route_ptr[i]]
                else:
                    finished += 1
                    buf, head, tail = _push_now(buf, head, tail, i * 8)
            else:
                req = pool[i]
        elif kind == 2:  # granted: take the lowest free slot, start
            if is_xfer[i]:
                p = route_pool[route_ptr[i] + hop_at[i]]
                delay = route_hop[route_ptr[i] + hop_at[i]]
            else:
                p = pool[i]
                delay = ovh[i]
            slot_of[i] = _slot_pop(fs, fs_off, fs_size, p)
            start[i] = now
            if delay > 0 or is_xfer[i]:
                t = now + delay
                if t == now:
                    buf, head, tail = _push_now(buf, head, tail, i * 8 + 3)
                else:
                    ht, hs, hc, hm = _fpush(ht, hs, hc, hm, t, seq, i * 8 + 3)
                    seq += 1
            else:
                phase = 2
        elif kind == 3:  # timer: an overhead or a transfer hop is over
            phase = 3 if is_xfer[i] else 2
        elif kind == 6:  # work done
            phase = 4
        elif kind == 4:  # release processed: serve the head of the queue
            p = i
            if users[p] < pool_count[p] and (qhead[p] >= 0 if fifo else q_size[p] > 0):
                users[p] += 1
                if fifo:
                    nd = qhead[p]
                    qhead[p] = qnext[nd]
                    g = qtask[nd]
                else:
                    g = _pq_pop(qp, qt, qs, qi, q_off, q_size, p)
                buf, head, tail = _push_now(buf, head, tail, g * 8 + 2)
        else:  # wake of a memory: finish the flows that are done, re-plan the others
            mi = i % nmem
            if i // nmem != mem_gen[mi]:
                continue  # superseded by a later arrival or departure
            _advance(mi, now, mem_t, mem_served, act, act_off, act_n, f_rem, f_rate)
            tick = 4 * (np.nextafter(now, np.inf) - now)  # 4 * math.ulp(now), for now >= 0
            base = act_off[mi]
            w = 0
            for j in range(act_n[mi]):
                f = act[base + j]
                if f_rem[f] <= _TOL * max(1.0, f_total[f]) or f_rem[f] / f_rate[f] <= tick:
                    mem_served[mi] += f_rem[f]  # the rounding residue
                    buf, head, tail = _push_now(buf, head, tail, f_task[f] * 8 + 6)
                else:
                    act[base + w] = f
                    w += 1
            act_n[mi] = w
            mem_gen[mi] += 1
            if w > 0:
                dt = _allocate(mi, mem_cap, act, act_off, act_n, f_rem, f_cap, f_rate, tmp)
                t = now + max(dt, 0.0)
                c = (mem_gen[mi] * nmem + mi) * 8 + 5
                if t == now:
                    buf, head, tail = _push_now(buf, head, tail, c)
                else:
                    ht, hs, hc, hm = _fpush(ht, hs, hc, hm, t, seq, c)
                    seq += 1
            continue
        if phase == 2:  # the work phase of a compute task (after its overhead)
            w_s = work[i]
            if w_s > 0:
                b = memb[i]
                if b > 0:  # a flow through the device memory
                    mi = mem_of[i]
                    _advance(mi, now, mem_t, mem_served, act, act_off, act_n, f_rem, f_rate)
                    f = nflows
                    nflows += 1
                    f_rem[f] = b
                    f_cap[f] = b / w_s
                    f_task[f] = i
                    f_total[f] = b
                    f_rate[f] = 0.0
                    act[act_off[mi] + act_n[mi]] = f
                    act_n[mi] += 1
                    mem_gen[mi] += 1
                    dt = _allocate(mi, mem_cap, act, act_off, act_n, f_rem, f_cap, f_rate, tmp)
                    t = now + max(dt, 0.0)
                    c = (mem_gen[mi] * nmem + mi) * 8 + 5
                    if t == now:
                        buf, head, tail = _push_now(buf, head, tail, c)
                    else:
                        ht, hs, hc, hm = _fpush(ht, hs, hc, hm, t, seq, c)
                        seq += 1
                else:
                    t = now + w_s
                    if t == now:
                        buf, head, tail = _push_now(buf, head, tail, i * 8 + 6)
                    else:
                        ht, hs, hc, hm = _fpush(ht, hs, hc, hm, t, seq, i * 8 + 6)
                        seq += 1
            else:  # no work at all: release, record and finish in this same step
                phase = 4
        if phase == 4:  # give the engine back, record, done
            p = pool[i]
            _slot_push(fs, fs_off, fs_size, p, slot_of[i])
            users[p] -= 1
            buf, head, tail = _push_now(buf, head, tail, p * 8 + 4)
            end[i] = now
            finished += 1
            buf, head, tail = _push_now(buf, head, tail, i * 8)
        elif phase == 3:  # a transfer hop is over: give the channel back, record
            e = route_ptr[i] + hop_at[i]
            p = route_pool[e]
            _slot_push(fs, fs_off, fs_size, p, slot_of[i])
            users[p] -= 1
            buf, head, tail = _push_now(buf, head, tail, p * 8 + 4)
            hop_start[e] = start[i]
            hop_end[e] = now
            hop_ready[e] = ready[i]
            if e + 1 < route_ptr[i + 1]:
                hop_at[i] += 1
                ready[i] = now
                req = route_pool[e + 1]
            else:
                finished += 1
                buf, head, tail = _push_now(buf, head, tail, i * 8)
        if req >= 0:
            buf, head, tail, qcount, req_seq = _request(
                req, i, now, fifo, prio, users, pool_count, qhead, qtail, qnext, qtask, qcount,
                qp, qt, qs, qi, q_off, q_size, req_seq, buf, head, tail)
    return ready, start, end, slot_of, hop_start, hop_end, hop_ready, mem_served, finished
