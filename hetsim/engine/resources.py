"""Resources of the engine: engine pools, link channels, and shared memory bandwidth.

* :class:`EnginePool` — ``count`` identical engines; a task holds one for its whole run.
  Waiting tasks are served by priority, then request order (SimPy's PriorityResource), and
  every grant names the slot it got, so traces show which engine ran what.
* A link channel is an EnginePool of one: transfers in the same direction queue, the two
  directions of a link are separate channels and never block each other.
* :class:`SharedBandwidth` — a device's memory as a processor-sharing server. Each running
  task is a flow of bytes with a rate cap (its own uncontended rate); the capacity is split
  max-min fairly (water-filling), so two memory-bound tasks that each want the full bandwidth
  both run at half speed instead of one waiting for the other.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque

import simpy


class EnginePool:
    """A pool of ``count`` engines with slot names ``<prefix>[i]``.

    Same service order as ``simpy.PriorityResource`` (priority, then request time, then
    request order; a grant is an event processed after the request, a release is an event
    whose processing serves the head of the queue), but the queue is a deque (FIFO, when
    every priority is equal) or a heap, so it is never re-sorted.
    """

    def __init__(self, env: simpy.Environment, prefix: str, count: int, *, fifo: bool = False):
        self.env = env
        self.prefix = prefix
        self.capacity = count
        self.users = 0
        self._fifo = fifo
        self._queue: deque | list = deque() if fifo else []
        self._seq = itertools.count()
        self._free = list(range(count))
        self._held: set[int] = set()
        self.slot_names = tuple(f"{prefix}[{i}]" if count > 1 else prefix for i in range(count))

    def request(self, priority: float = 0.0) -> simpy.Event:
        """An event that fires when this request is granted an engine."""
        ev = self.env.event()
        if self._fifo:
            self._queue.append(ev)
        else:
            heapq.heappush(self._queue, (priority, self.env.now, next(self._seq), ev))
        self._serve()
        return ev

    def _serve(self, _event=None) -> None:
        # like SimPy's _trigger_put: grant the head of the queue if an engine is free
        if self._queue and self.users < self.capacity:
            self.users += 1
            ev = self._queue.popleft() if self._fifo else heapq.heappop(self._queue)[3]
            ev.succeed()

    def acquire(self, priority: float = 0.0):
        """Process generator: wait for a free engine; return its slot index."""
        yield self.request(priority)
        slot = self._free.pop(0)
        self._held.add(slot)
        return slot

    def release(self, slot: int) -> None:
        """Give engine *slot* back (it must be held)."""
        if slot not in self._held:
            raise RuntimeError(f"{self.prefix}: release of slot {slot} that is not held")
        self._held.discard(slot)
        self._free.append(slot)
        self._free.sort()
        self.users -= 1
        ev = self.env.event()
        ev.callbacks.append(self._serve)
        ev.succeed()


class SharedBandwidth:
    """Processor-sharing memory bandwidth of one device.

    Parameters
    ----------
    env : simpy.Environment
    capacity_Bps : float
        Total bandwidth shared by concurrent flows, B/s.
    """

    _TOL = 1e-9

    def __init__(self, env: simpy.Environment, capacity_Bps: float):
        if capacity_Bps <= 0:
            raise ValueError(f"capacity_Bps(={capacity_Bps}) must be > 0")
        self.env = env
        self.capacity_Bps = float(capacity_Bps)
        self._flows: dict[int, list] = {}  # id -> [remaining_B, cap_Bps, event, total_B, rate]
        self._ids = itertools.count()
        self._t = env.now
        self._gen = 0
        self.bytes_served = 0.0

    def flow(self, nbytes: float, rate_cap_Bps: float) -> simpy.Event:
        """Start a flow of *nbytes* at most *rate_cap_Bps*; the event fires when it is done."""
        if nbytes <= 0 or rate_cap_Bps <= 0:
            raise ValueError(f"flow needs nbytes(={nbytes}) > 0 and rate_cap_Bps(={rate_cap_Bps}) > 0")
        self._advance()
        ev = self.env.event()
        self._flows[next(self._ids)] = [float(nbytes), float(rate_cap_Bps), ev, float(nbytes), 0.0]
        self._reschedule()
        return ev

    @property
    def active(self) -> int:
        """Number of flows in progress."""
        return len(self._flows)

    def _advance(self) -> None:
        dt = self.env.now - self._t
        if dt > 0:
            for f in self._flows.values():
                moved = min(f[0], f[4] * dt)
                f[0] -= moved
                self.bytes_served += moved
        self._t = self.env.now

    def _allocate(self) -> None:
        left, n = self.capacity_Bps, len(self._flows)
        for fid, f in sorted(self._flows.items(), key=lambda kv: (kv[1][1], kv[0])):
            f[4] = min(f[1], left / n)
            left -= f[4]
            n -= 1

    def _reschedule(self) -> None:
        self._gen += 1
        if not self._flows:
            return
        self._allocate()
        dt = min(f[0] / f[4] for f in self._flows.values())
        gen = self._gen
        self.env.timeout(max(dt, 0.0)).callbacks.append(lambda _e: self._wake(gen))

    def _wake(self, gen: int) -> None:
        if gen != self._gen:
            return  # superseded by a later arrival or departure
        self._advance()
        # a flow is done when its residue is rounding noise, or would take less time than the
        # clock can still resolve at this instant (otherwise the loop could never advance)
        tick = 4 * math.ulp(self.env.now)
        done = [fid for fid, f in self._flows.items()
                if f[0] <= self._TOL * max(1.0, f[3]) or f[0] / f[4] <= tick]
        for fid in done:
            f = self._flows.pop(fid)
            self.bytes_served += f[0]  # the rounding residue
            f[2].succeed()
        self._reschedule()
