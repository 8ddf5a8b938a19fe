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
    """Streams over a buffer of *nbytes* so that the next call finds its operands out of cache.

    A pipeline runs each op once, right after another op streamed its own weights through the
    caches; a warm timing loop never sees that. Writing ``nbytes`` (twice the last-level cache
    by default) evicts whatever the previous call left behind.
    """

    def __init__(self, torch_mod: Any, device: str, nbytes: int):
        dev = "cuda" if device in ("cuda", "rocm") else "cpu"
        self.nbytes = int(max(4, nbytes))
        self.buf = torch_mod.zeros(self.nbytes // 4, dtype=torch_mod.float32, device=dev)

    def __call__(self) -> None:
        self.buf.add_(1.0)


__all__ = ["Clock", "Evictor"]
