"""Machine-state probes: a few fixed micro-measurements that say how fast the machine is now.

On a shared VM the same in-cache GEMM took 3.78 to 4.71 ms within 35 minutes while the guest
saw no steal and no frequency change: the machine's speed drifts invisibly. Every table
records these probes (before and after calibrating), and validation re-runs them each round,
so a reader can tell "the machine is 12% slower than when the table was made" from "the
model is 12% off".

Probes (each a median over a few short blocks, so one probe costs ~0.1-0.3 s):

* ``gemm_1t_s``: an in-cache fp32 GEMM (256 x 256 x 256, 768 KiB of operands) on 1 thread;
* ``gemm_all_s``: the same on the calibration thread count (contention for the cores shows
  here first);
* ``copy_Bps``: a DRAM-bound copy of a buffer of twice the last-level cache (read + write
  bytes per second);
* ``loadavg_1m``: the 1-minute load average; ``steal_frac``: the share of CPU time stolen by
  the hypervisor during the probe window (``/proc/stat``), None where unavailable.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Mapping

#: GEMM edge of the in-cache probe (three 256 x 256 fp32 matrices = 768 KiB: L2/L3 resident).
GEMM_N = 256
#: Timed blocks per probe; the median is kept.
BLOCKS = 5
#: Relative change of a timing probe that counts as "the machine differs" when the table
#: recorded no noise of its own.
DEFAULT_NOISE = 0.05
#: Probes that are times (bigger = slower) and rates (bigger = faster).
TIME_PROBES = ("gemm_1t_s", "gemm_all_s")
RATE_PROBES = ("copy_Bps",)


def read_cpu_times(path: str = "/proc/stat") -> tuple[int, int] | None:
    """(total, steal) jiffies of the aggregate ``cpu`` line of /proc/stat, None if unreadable."""
    try:
        with open(path) as fh:
            first = fh.readline().split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    vals = [int(v) for v in first[1:]]
    steal = vals[7] if len(vals) > 7 else 0
    # guest time is already included in user on Linux: count the first 8 fields only
    return sum(vals[:8]), steal


def steal_fraction(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of CPU time stolen between two :func:`read_cpu_times` readings."""
    if before is None or after is None:
        return None
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0


def _median_block(fn, calls: int) -> float:
    for _ in range(max(2, calls)):  # untimed: thread-pool start-up at this thread count, caches
        fn()
    samples = []
    for _ in range(BLOCKS):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return statistics.median(samples)


def run_probes(threads: int, llc_bytes: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Run the probes now and return their values (see the module docstring).

    GEMM probes run on *device* (events-synchronised on a GPU); the copy probe too. Thread
    count is restored afterwards.
    """
    from .kernels import require_torch, torch_device

    torch = require_torch()
    dev = torch_device(device)
    sync = torch.cuda.synchronize if dev != "cpu" else (lambda: None)
    cpu0 = read_cpu_times()
    prev_threads = torch.get_num_threads()
    gen = torch.Generator().manual_seed(0)
    a = torch.randn((GEMM_N, GEMM_N), generator=gen).to(dev)
    b = torch.randn((GEMM_N, GEMM_N), generator=gen).to(dev)
    c = torch.zeros((GEMM_N, GEMM_N), device=dev)

    def gemm():
        torch.mm(a, b, out=c)
        sync()

    out: dict[str, Any] = {}
    with torch.inference_mode():
        for _ in range(3):
            gemm()
        if dev == "cpu":
            torch.set_num_threads(1)
            out["gemm_1t_s"] = _median_block(gemm, 8)
            torch.set_num_threads(int(threads))
        else:  # pragma: no cover - GPU only: one "thread" is meaningless
            out["gemm_1t_s"] = None
        out["gemm_all_s"] = _median_block(gemm, 8)
        nbytes = 2 * int(llc_bytes or 32 * 2**20)
        src = torch.ones(nbytes // 4, device=dev)
        dst = torch.zeros_like(src)
        dst.copy_(src)
        sync()
        copy_s = _median_block(lambda: (dst.copy_(src), sync()), 1)
        out["copy_Bps"] = 2.0 * nbytes / copy_s
        del src, dst
    torch.set_num_threads(prev_threads)
    try:
        out["loadavg_1m"] = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Linux
        out["loadavg_1m"] = None
    out["steal_frac"] = steal_fraction(cpu0, read_cpu_times())
    out["threads"] = int(threads)
    out["time_unix_s"] = round(time.time(), 3)
    return out


def probe_noise(samples: list[Mapping[str, Any]]) -> dict[str, float]:
    """Relative spread (max/min - 1) of each timing/rate probe over repeated probe runs.

    A difference smaller than this between calibration and validation is within the noise.
    """
    out = {}
    for key in TIME_PROBES + RATE_PROBES:
        vals = [s[key] for s in samples if s.get(key)]
        if len(vals) >= 2:
            out[key] = max(vals) / min(vals) - 1.0
    return out


def compare_probes(recorded: Mapping[str, Any], now: list[Mapping[str, Any]],
                   noise: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Compare probe runs *now* with the table's *recorded* probes.

    Returns ``{probe: {"table", "now", "slowdown", "beyond_noise"}}`` plus ``warnings``: a
    list of one-line messages. ``slowdown`` is how much slower the machine is now (time
    ratio - 1, or inverse rate ratio - 1): +0.12 = "12% slower". The median of *now* is used.
    """
    noise = dict(noise or {})
    res: dict[str, Any] = {"warnings": []}
    for key in TIME_PROBES + RATE_PROBES:
        vals = [s[key] for s in now if s.get(key)]
        if not recorded.get(key) or not vals:
            continue
        cur = statistics.median(vals)
        ratio = cur / recorded[key] if key in TIME_PROBES else recorded[key] / cur
        tol = max(DEFAULT_NOISE, noise.get(key, 0.0))
        beyond = abs(ratio - 1.0) > tol
        res[key] = {"table": recorded[key], "now": cur, "slowdown": ratio - 1.0, "tolerance": tol,
                    "beyond_noise": beyond}
        if beyond:
            res["warnings"].append(f"probe {key}: machine {abs(ratio - 1):.0%} "
                                   f"{'slower' if ratio > 1 else 'faster'} than when the table was "
                                   f"made (noise {tol:.0%})")
    steals = [s["steal_frac"] for s in now if s.get("steal_frac") is not None]
    if steals and max(steals) > 0.05:
        res["warnings"].append(f"CPU steal up to {max(steals):.0%} during validation")
    loads = [s["loadavg_1m"] for s in now if s.get("loadavg_1m") is not None]
    if loads and recorded.get("loadavg_1m") is not None:
        res["loadavg_1m"] = {"table": recorded["loadavg_1m"], "now": statistics.median(loads)}
    return res


__all__ = ["run_probes", "probe_noise", "compare_probes", "read_cpu_times", "steal_fraction"]
