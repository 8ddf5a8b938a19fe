"""Ceilings on user inputs that would otherwise run unbounded or overflow.

Why one module: the CLI builds its flag parsers from these before anything heavy is
imported, and the config models check the same numbers in files; both read them here.
"""

from __future__ import annotations

#: ceiling of a per-call time in s (launch or invocation overhead, link latency, DMA set-up, a
#: stack's per-wave or per-op time, a measured kernel time): the real ones are microseconds to
#: milliseconds, so an hour is only ever a typo or a unit slip (``latency_s: 5`` meant as us).
#: Why a ceiling at all: ``launch_overhead_s: 1e307`` passed, summed over the tasks to an
#: infinite makespan, and the run wrote ``Infinity`` into result.json (not JSON) with exit 0.
MAX_CALL_S = 3600.0

#: most simulations one mapping search may run (``--max-evaluations``, ``--exhaustive-limit``,
#: ``optimal``'s params). The default search (2,000) of the built-in scenario took 73 s of CPU
#: here (``hetsim map --granularity task``, 2026-12-04, 2-core VM), so this cap is about an hour
#: of a small scenario; 1e9 was accepted and ran for years.
MAX_SEARCH_EVALUATIONS = 100_000

#: most worker processes a sweep starts on this machine (``--jobs``; with ``--dask`` and no
#: scheduler, the local cluster's size). Each is a Python process of ~150 MB; the pool starts
#: one per chunk up to --jobs, so ``--jobs 100000`` on a 1,000-point sweep started 1,000
#: processes. 1024 is four per core of the largest common servers.
MAX_JOBS = 1024

#: largest size in a kernel shape or on an edge (elements or bytes): 2**53, the largest integer
#: a float holds exactly (FLOP and bytes are priced as floats). A shape of 10**300 raised an
#: OverflowError traceback when priced; anything near this bound is already absurd.
MAX_SIZE = 2**53

#: most a measured ``power_w`` may exceed its device preset's ``power.active_w`` by (a factor).
#: A board's power sensor averages over ms and the board caps its draw near its limit (an A100
#: SXM at 400 W, an MI210 at 300 W: shared/reference/hardware.md), so a mean reading even 2x
#: over is implausible; 10x leaves room for a preset that understates its part and still
#: catches milliwatts written as watts (1000x), which was read as a 300 kW kernel and
#: averaged into the power error with exit 0.
MAX_POWER_OVER_ACTIVE = 10.0


def big(value: int) -> str:
    """An integer too large for the limits, shown short (``1e+30``; no float conversion, which
    overflows above 1e308)."""
    digits = str(abs(value))
    return f"{'-' if value < 0 else ''}{digits[0]}e+{len(digits) - 1}"
