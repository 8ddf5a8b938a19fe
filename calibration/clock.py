"""One clock and one cache evictor per device, shared by calibration and validation.

Why a module of its own: the calibration harness (cold single-call times) and the
round-based validation (per-task times inside a pipeline pass) must time the same way, or
the comparison measures the clocks. On CPU the clock is ``time.perf_counter`` around the
call; on CUDA/ROCm it is a pair of ``torch.cuda.Event`` records (the call is asynchronous, so
a host clock would time the launch) followed by a synchronise.
"""

from __future__ import annotations

import time
from typing import Any, Callable


class Clock:
    """Times one region of work on *device* (``cpu``, ``cuda`` or ``rocm``).

    ``measure(fn)`` returns the seconds *fn* took on the device; ``sync()`` waits for the
    device. GPU timing uses CUDA events (ROCm torch exposes HIP through the same API).
    """

    def __init__(self, device: str, torch_mod: Any = None):
        self.device = device
        self.gpu = device in ("cuda", "rocm")
        self.torch = torch_mod
        if self.gpu and torch_mod is None:  # pragma: no cover - GPU only
            raise ValueError("a GPU clock needs the torch module")

    def sync(self) -> None:
        if self.gpu:  # pragma: no cover - GPU only
            self.torch.cuda.synchronize()

    def measure(self, fn: Callable[[], Any]) -> float:
        """Seconds *fn* took on the device (the device is idle before and after)."""
        if self.gpu:  # pragma: no cover - GPU only
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3  # ms -> s
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def measure_each(self, fns: list[Callable[[], Any]]) -> tuple[float, list[float]]:
        """Run *fns* back to back; return (total s, s of each). One event pair per call on a
        GPU (recorded without synchronising in between, so the calls still queue)."""
        if self.gpu:  # pragma: no cover - GPU only
            ev = [self.torch.cuda.Event(enable_timing=True) for _ in range(len(fns) + 1)]
            ev[0].record()
            for fn, e in zip(fns, ev[1:]):
                fn()
                e.record()
            ev[-1].synchronize()
            each = [ev[i].elapsed_time(ev[i + 1]) / 1e3 for i in range(len(fns))]
            return ev[0].elapsed_time(ev[-1]) / 1e3, each
        marks = [time.perf_counter()]
        for fn in fns:
            fn()
            marks.append(time.perf_counter())
        return marks[-1] - marks[0], [b - a for a, b in zip(marks, marks[1:])]


class Evictor:
    """Reads through a buffer of *nbytes* so that the next call finds its operands out of cache.

    A pipeline runs each op once, right after another op streamed its own weights through the
    caches; a warm timing loop never sees that. Reading ``nbytes`` (twice the last-level cache
    by default) evicts whatever the previous call left behind and leaves the caches holding
    clean lines, as a weight-streaming predecessor does. An earlier version wrote the buffer
    (``add_``): the next call then also paid for writing 32 MB of dirty lines back, and single
    calls of small GEMVs ran 10-30% over their in-pipeline times (on three isolated runs of
    both validation pipelines here the summed single calls came to -0.7..+4.2% of the
    pipeline with the writing evictor, -1.7..+1.9% with the reading one).
    """

    def __init__(self, torch_mod: Any, device: str, nbytes: int):
        dev = "cuda" if device in ("cuda", "rocm") else "cpu"
        self.nbytes = int(max(4, nbytes))
        self.buf = torch_mod.ones(self.nbytes // 4, dtype=torch_mod.float32, device=dev)
        self.out = torch_mod.zeros((), dtype=torch_mod.float32, device=dev)
        self.torch = torch_mod

    def __call__(self) -> None:
        torch_sum = self.torch.sum
        torch_sum(self.buf, dim=0, out=self.out)


class RunDelay:
    """Seconds this process's threads spent runnable but waiting for a CPU (Linux
    ``/proc/self/task/*/schedstat``, second field), summed over its threads.

    Why: a multi-threaded kernel whose worker waits for a core that another process holds
    takes as long as the wait, and neither steal nor the load average says so for *this*
    process. On this project's 2-core VM at load average 15 the drift-corrected DSA error
    was +32-77% while single-threaded runs on an isolated core agreed within 1%: the timings
    measured the queue, not the kernels. Validation reports the waited share of each round
    and marks a run unreliable when it is not negligible. ``read()`` returns None where the
    counters do not exist (non-Linux, or a kernel without schedstat).
    """

    def __init__(self, root: str = "/proc/self/task"):
        self.root = root

    def read(self) -> float | None:
        import os

        total, seen = 0, False
        try:
            tids = os.listdir(self.root)
        except OSError:
            return None
        for tid in tids:
            try:
                with open(f"{self.root}/{tid}/schedstat") as fh:
                    total += int(fh.read().split()[1])
                    seen = True
            except (OSError, IndexError, ValueError):
                continue  # a thread that ended meanwhile
        return total * 1e-9 if seen else None


def waited_fraction(before: float | None, after: float | None, wall_s: float,
                    threads: int) -> float | None:
    """Share of the threads' wall time spent waiting for a CPU between two readings."""
    if before is None or after is None or wall_s <= 0:
        return None
    return max(0.0, after - before) / (wall_s * max(1, threads))


__all__ = ["Clock", "Evictor", "RunDelay", "waited_fraction"]
