"""Kernel calibration: time every kernel on a shape grid, fit a model per kernel, write a table.

:func:`calibrate` produces a ``hetsim-kernel-table/1`` (see :mod:`hetsim.costs.tables`). What
it does about the measurement pitfalls seen on this project's machine (first iterations 2x
slower from page faults on fresh buffers; separately timed kernels drifting by up to 58%
between runs):

* **Warm buffers.** Inputs are filled and outputs preallocated and zeroed when a shape is set
  up (every page touched), then the kernel runs a few untimed warm-up calls. No timed call
  allocates a large buffer (see :mod:`calibration.kernels`).
* **Pipeline memory state.** A pipeline streams each layer's own weights and caches, so large
  operands come from DRAM, not from a cache the previous call warmed. Each shape gets enough
  copies of its inputs to cover ``rotate_bytes`` (default twice the last-level cache) and
  successive calls rotate through them.
* **Interleaving.** Each round times one block of calls of *every* shape of the kernel, in a
  shuffled order; ``repeats`` rounds give the samples. Slow drift (thermal, frequency, other
  tenants) therefore spreads over all shapes instead of biasing the ones measured last.
* **Statistics.** A sample is the mean time per call over a block of about ``block_s``
  (``torch.utils.benchmark.Timer.timeit``, which synchronises accelerators). Points record the
  median, the inter-quartile range and the minimum over rounds.
* **Threads** are pinned (``torch.set_num_threads`` and the Timer's ``num_threads``) and
  recorded.
* **Cold single calls.** A pipeline runs each op once, right after another op streamed its
  own operands through the caches. Each round therefore also times single calls of every
  shape, each right after an evicting stream (:class:`calibration.clock.Evictor` reads twice
  the last-level cache): one call, or :data:`SHORT_COLD_CALLS` for calls under
  :data:`SHORT_CALL_S`; points record their median as ``cold_s``, which the simulator prices
  tasks with.
* **Machine state.** :mod:`calibration.probes` runs before and after the sweep; both runs
  and their spread (the noise) go into the provenance, so validation can tell machine drift
  from model error.

Power is sampled with :func:`calibration.power.find_reader` when the machine has a source; the
mean power over a shape's timed blocks is stored as ``power_w`` (None otherwise).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import os
import platform
import re
import shlex
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from hetsim.costs.fitted import fit_kernel, model_label
from hetsim.kernels import KERNELS

from . import TABLE_FORMAT
from .contexts import PREFIX_BELOW_S
from .grids import grid_kernels, shape_grid
from .power import find_reader

#: Timing settings per mode: rounds (samples per shape), target seconds per sample block,
#: minimum untimed warm-up calls and seconds.
QUICK = {"repeats": 7, "block_s": 0.025, "warmup_calls": 3, "warmup_s": 0.03}
FULL = {"repeats": 11, "block_s": 0.05, "warmup_calls": 5, "warmup_s": 0.1}

#: At most this many rotated input copies per shape (tiny kernels are overhead-bound anyway).
MAX_COPIES = 64
#: At most this many calls in one timed block.
MAX_CALLS_PER_BLOCK = 20000
#: Cold single calls per shape and round: a short call (below ``SHORT_CALL_S``) is one noisy
#: sample (a 0.24 ms embedding gather varied 3x from call to call on this machine), so it
#: gets ``SHORT_COLD_CALLS`` calls, each after its own evicting stream; the point keeps the
#: median of all of them. Validation re-measures with the same counts.
SHORT_CALL_S = 2e-3
SHORT_COLD_CALLS = 5


def cold_calls(per_call_s: float) -> int:
    """Cold single calls per round for a shape whose call takes *per_call_s* seconds."""
    return SHORT_COLD_CALLS if per_call_s < SHORT_CALL_S else 1


# ---------------------------------------------------------------------------------------------
# machine description


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else :func:`platform.processor`."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def last_level_cache_bytes() -> int | None:
    """Size of the CPU's last-level cache in B (from sysfs), or None when unknown."""
    best = None
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in sorted(os.listdir(base)):
            try:
                with open(os.path.join(base, entry, "size")) as fh:
                    txt = fh.read().strip()
            except OSError:
                continue
            m = re.fullmatch(r"(\d+)([KMG]?)", txt)
            if m:
                size = int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
                best = max(best or 0, size)
    except OSError:
        return None
    return best


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def _hetsim_version() -> str:
    try:
        from importlib.metadata import version

        return version("hetsim")
    except Exception:
        pass
    try:  # a source checkout: read pyproject.toml beside the package
        import tomllib

        root = Path(__file__).resolve().parent.parent
        return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    except Exception:
        return "unknown"


def _git_commit() -> str | None:
    import subprocess

    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


# ---------------------------------------------------------------------------------------------
# power sampling


class _PowerWindows:
    """Mean power over a set of time windows, from a reader (None when there is none).

    Energy-counter readers (RAPL) are read at the edges of each window, which is exact.
    Tool-based readers (nvidia-smi, amd-smi / rocm-smi, xrt-smi / xbutil) are polled by a background thread every
    ``interval_s``; a window gets the samples taken inside it.
    """

    def __init__(self, reader, interval_s: float = 0.1):
        self.reader = reader
        self.counter = reader is not None and getattr(reader, "source", "") == "rapl"
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = None
        if reader is not None and not self.counter:
            self._thread = threading.Thread(target=self._poll, args=(interval_s,), daemon=True)
            self._thread.start()

    def _poll(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            s = self.reader.read()
            if s is not None:
                self.samples.append((s.time_s, s.power_w))

    def begin(self) -> float:
        if self.counter:
            self.reader.read()
        return time.monotonic()

    def end(self, start_s: float) -> tuple[float, float, float | None]:
        end_s = time.monotonic()
        value = None
        if self.counter:
            s = self.reader.read()
            value = s.power_w if s is not None else None
        return start_s, end_s, value

    def mean_w(self, windows: Sequence[tuple[float, float, float | None]]) -> float | None:
        if self.reader is None:
            return None
        if self.counter:
            vals = [(e - s, v) for s, e, v in windows if v is not None]
            tot = sum(d for d, _ in vals)
            return sum(d * v for d, v in vals) / tot if tot > 0 else None
        inside = [p for t, p in list(self.samples) if any(s <= t <= e for s, e, _ in windows)]
        return float(np.mean(inside)) if inside else None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


# ---------------------------------------------------------------------------------------------
# measurement


class _Shape:
    """One shape being measured: its rotated input copies, Timer and samples."""

    def __init__(self, name: str, shape: dict, torch, device: str, threads: int,
                 rotate_bytes: int, seed: int):
        from torch.utils.benchmark import Timer

        from .kernels import get_impl, inputs_nbytes

        self.name = name
        self.shape = KERNELS[name].resolve(shape)
        impl = get_impl(name)
        gen = torch.Generator().manual_seed(seed)
        first = impl.make_inputs(self.shape, device, gen)
        if impl.reindex is not None:
            # a gather touches only its rows: rotate index sets over the one (large) pool
            touched = 2.0 * KERNELS[name].work(self.shape)[1]  # fp32 moves ~2x the 2-B formula
            ncopies = int(min(MAX_COPIES, max(1, math.ceil(rotate_bytes / max(touched, 1.0)))))
            self.copies = [first] + [impl.reindex(first, gen) for _ in range(ncopies - 1)]
        else:
            footprint = max(1, inputs_nbytes(first))
            ncopies = int(min(MAX_COPIES, max(1, math.ceil(rotate_bytes / footprint))))
            self.copies = [first] + [impl.make_inputs(self.shape, device, gen)
                                     for _ in range(ncopies - 1)]
        cycle = itertools.cycle(self.copies)
        run = impl.run

        def call():
            run(next(cycle))

        self.call = call
        self.timer = Timer(stmt="call()", globals={"call": call}, num_threads=threads,
                           label=name, sub_label=json.dumps(self.shape, sort_keys=True))
        self.number = 1
        self.per_call_s = math.inf
        self.samples: list[float] = []
        self.cold_samples: list[float] = []
        self.windows: list[tuple[float, float, float | None]] = []

    def warm_up(self, calls: int, seconds: float, block_s: float, sync: Callable[[], None]) -> None:
        """Untimed calls (first touches, allocator, caches), then pick calls per block."""
        t0 = time.perf_counter()
        n = 0
        while n < calls or time.perf_counter() - t0 < seconds:
            self.call()
            n += 1
        sync()
        # per-call time from a plain loop of at least a quarter block (no Timer warm-up inside)
        k, t1 = 0, time.perf_counter()
        while True:
            self.call()
            k += 1
            if k >= 3 and (time.perf_counter() - t1) >= block_s / 4:
                break
        sync()
        per_call = (time.perf_counter() - t1) / k
        self.per_call_s = per_call
        self.number = int(min(MAX_CALLS_PER_BLOCK, max(1, round(block_s / max(per_call, 1e-9)))))

    def measure_cold(self, evict: Callable[[], None], clock, calls: int | None = None) -> float:
        """*calls* single calls (default :func:`cold_calls` of this shape), each right after
        an evicting stream: what a pipeline's single op sees. Returns their median."""
        n = cold_calls(self.per_call_s) if calls is None else int(calls)
        for _ in range(n):
            clock.sync()
            evict()
            clock.sync()
            self.cold_samples.append(clock.measure(self.call))
        return float(np.median(self.cold_samples[-n:]))

    def measure(self, power: _PowerWindows) -> None:
        start = power.begin()
        m = self.timer.timeit(self.number)
        self.windows.append(power.end(start))
        self.samples.append(float(m.median))

    def point(self, power: _PowerWindows) -> dict[str, Any]:
        s = np.asarray(self.samples)
        q1, q3 = np.percentile(s, [25, 75])
        out = {"shape": self.shape, "median_s": float(np.median(s)), "iqr_s": float(q3 - q1),
               "min_s": float(s.min()), "repeats": int(len(s)), "calls_per_repeat": self.number,
               "input_copies": len(self.copies), "power_w": power.mean_w(self.windows)}
        if self.cold_samples:
            c = np.asarray(self.cold_samples)
            c1, c3 = np.percentile(c, [25, 75])
            out["cold_s"] = float(np.median(c))
            out["cold_iqr_s"] = float(c3 - c1)
            out["cold_calls"] = int(len(c))
        return out

    def release(self) -> None:
        self.copies = []


def _measure_kernel(name: str, shapes: list[dict], torch, device: str, threads: int,
                    settings: dict, rotate_bytes: int, seed: int, power: _PowerWindows,
                    advance: Callable[[str], None], sync: Callable[[], None],
                    cold=None) -> list[dict]:
    rng = np.random.default_rng(seed)
    states = []
    for i, shape in enumerate(shapes):
        st = _Shape(name, shape, torch, device, threads, rotate_bytes, seed * 1000 + i)
        st.warm_up(settings["warmup_calls"], settings["warmup_s"], settings["block_s"], sync)
        states.append(st)
        advance(f"{name}: set up {i + 1}/{len(shapes)}")
    for r in range(settings["repeats"]):
        for i in rng.permutation(len(states)):  # interleave shapes, new order each round
            states[i].measure(power)
            if cold is not None:
                states[i].measure_cold(*cold)
        advance(f"{name}: round {r + 1}/{settings['repeats']}")
    points = [st.point(power) for st in states]
    for st in states:
        st.release()
    return points


# ---------------------------------------------------------------------------------------------
# public API


def calibrate(device: str = "cpu", kernels: Sequence[str] | None = None, quick: bool = False,
              out: str | os.PathLike | None = None, progress: bool = True, *,
              threads: int | None = None, repeats: int | None = None,
              rotate_bytes: int | None = None, seed: int = 0,
              grids: dict[str, list[dict]] | None = None, cold: bool = True,
              probes: bool = True, pipelines: dict[str, Any] | None = None,
              prefix_below_s: float | None = None) -> dict[str, Any]:
    """Measure kernels on this machine, fit a model per kernel and return (and write) the table.

    Parameters
    ----------
    device : {"cpu", "cuda", "rocm"}
        What to time on. ROCm builds of torch expose the GPU as ``cuda``.
    kernels : sequence of str, optional
        Kernel names (default: every kernel of :data:`hetsim.kernels.KERNELS`).
    quick : bool
        Use the reduced grids and fewer rounds (about 5 minutes on 2 CPU cores for all
        kernels with the validation pipelines' in-context calls: 313 s on this project's
        2-core VM, 2026-12-04) instead of the full ones.
    out : path, optional
        Where to write the JSON table (parent directories are created). Not written if None.
    progress : bool
        Show a ``rich`` progress bar on stderr.
    threads : int, optional
        torch intra-op threads (default: all CPUs this process may use). Recorded.
    repeats : int, optional
        Rounds of interleaved measurement (default 5 quick, 11 full).
    rotate_bytes : int, optional
        Footprint in B that each shape's rotated input copies cover (default: twice the
        last-level cache on CPU, 2 x L2 or 128 MiB on a GPU). 0 disables rotation.
    seed : int
        Seed of the random inputs and of the interleaving order.
    grids : dict, optional
        kernel -> list of shapes, replacing :func:`calibration.grids.shape_grid` (tests, custom
        sweeps).
    cold : bool
        Also time one call per shape and round after an evicting stream (``cold_s``).
    probes : bool
        Run the machine-state probes before and after and record them.
    pipelines : dict, optional
        name -> task graph (``hetsim calibrate`` passes the validation pipelines): with
        *cold*, every task of them is also timed as a single call right after its predecessor
        chain, replayed (``contexts``, see :mod:`calibration.contexts`).
    prefix_below_s : float, optional
        A pipeline task whose fitted cold single call is under this many seconds is replayed
        from the start of its pass, not from its byte window (default
        :data:`calibration.contexts.PREFIX_BELOW_S`; 0 turns it off).

    Returns
    -------
    dict
        The ``hetsim-kernel-table/1`` table: ``format``, ``device`` (``name``, ``kind``),
        ``provenance`` (command, date, host, CPU/GPU model, torch version, threads, ...), and
        ``kernels``: name -> ``{"points": [...], "fit": {...}}`` with the fit from
        :func:`hetsim.costs.fitted.fit_kernel` (its ``heldout_error`` is a fraction).

    Raises
    ------
    ImportError
        torch is not installed.
    ValueError
        Unknown device or kernel, or the device is not available.
    """
    from .kernels import CPU_COMPUTE_DTYPE, compute_dtype, require_torch, torch_device

    torch = require_torch()
    if device not in ("cpu", "cuda", "rocm"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'rocm', not {device!r}")
    if device != "cpu" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: torch sees no GPU (torch {torch.__version__})")
    names = list(kernels) if kernels else grid_kernels()
    unknown = [k for k in names if k not in KERNELS]
    if unknown:
        raise ValueError(f"unknown kernel(s) {unknown}; known: {', '.join(sorted(KERNELS))}")
    settings = dict(QUICK if quick else FULL)
    if repeats is not None:
        settings["repeats"] = int(repeats)
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(int(threads))
    tdev = torch_device(device)
    gpu_model = torch.cuda.get_device_name(0) if device != "cpu" else None
    if rotate_bytes is None:
        if device == "cpu":
            rotate_bytes = 2 * (last_level_cache_bytes() or 32 * 2**20)
        else:
            l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0) or 64 * 2**20
            rotate_bytes = 2 * int(l2)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    plan = {k: (grids[k] if grids and k in grids else shape_grid(k, quick)) for k in names}

    from .clock import Clock, Evictor
    from .probes import probe_noise, run_probes

    llc = last_level_cache_bytes() if device == "cpu" else None
    probe_runs = [run_probes(int(threads), llc, device)] if probes else []
    cold_pair = None
    below_s = PREFIX_BELOW_S if prefix_below_s is None else float(prefix_below_s)
    if cold:
        evict_bytes = rotate_bytes if rotate_bytes else 2 * (llc or 32 * 2**20)
        cold_pair = (Evictor(torch, device, evict_bytes), Clock(device, torch))
    from .clock import RunDelay, waited_fraction

    delay = RunDelay()
    delay0 = delay.read()
    started = time.perf_counter()
    date = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    reader = find_reader(device)
    power = _PowerWindows(reader)
    table_kernels: dict[str, Any] = {}
    total_steps = sum(len(s) + settings["repeats"] + 1 for s in plan.values())

    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        bar = Progress(TextColumn("[bold]calibrate[/] {task.description}"), BarColumn(),
                       MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=False)
        bar.start()
        task = bar.add_task("", total=total_steps)

    def advance(desc: str) -> None:
        if bar is not None:
            bar.update(task, advance=1, description=desc)

    try:
        for idx, name in enumerate(names):
            points = _measure_kernel(name, plan[name], torch, tdev, int(threads), settings,
                                     int(rotate_bytes), seed + idx, power, advance, sync,
                                     cold=cold_pair)
            fit = fit_kernel(points, name)
            table_kernels[name] = {"points": points, "fit": fit}
            advance(f"{name}: fitted ({model_label(fit)}, held-out "
                    f"{'n/a' if fit['heldout_error'] is None else format(fit['heldout_error'], '.1%')})")
        contexts = []
        if cold_pair and pipelines:
            advance("cold calls in the pipelines' contexts")
            contexts = _contexts(pipelines, table_kernels, torch, tdev, cold_pair,
                                 int(cold_pair[0].nbytes), seed, below_s)
        if probes:
            probe_runs.append(run_probes(int(threads), llc, device))
    finally:
        power.close()
        if bar is not None:
            bar.stop()

    errors = [k["fit"]["heldout_error"] for k in table_kernels.values()
              if k["fit"]["heldout_error"] is not None]
    host = socket.gethostname()
    model = cpu_model()
    name = f"cpu-{_slug(model)}" if device == "cpu" else f"{device}-{_slug(gpu_model or 'gpu')}"
    call = (f"calibrate(device={device!r}, kernels={names if kernels else None!r}, quick={quick!r}, "
            f"out={str(out) if out is not None else None!r}, threads={threads}, seed={seed})")
    table = {
        "format": TABLE_FORMAT,
        "device": {"name": name, "kind": device},
        "provenance": {
            "command": shlex.join(getattr(sys, "orig_argv", sys.argv)),
            "call": call,
            "date": date,
            "host": host,
            "cpu_model": model,
            "gpu_model": gpu_model,
            "torch_version": torch.__version__,
            "threads": int(threads),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "hetsim_version": _hetsim_version(),
            "git_commit": _git_commit(),
            "compute_dtype": CPU_COMPUTE_DTYPE if device == "cpu" else str(compute_dtype(device, 2)),
            "quick": bool(quick),
            "seed": seed,
            "timing": {"method": "torch.utils.benchmark.Timer.timeit; interleaved rounds over the "
                                 "shapes of a kernel in shuffled order; one sample = mean per call "
                                 "over a block",
                       "repeats": settings["repeats"], "block_s": settings["block_s"],
                       "warmup_calls": settings["warmup_calls"], "warmup_s": settings["warmup_s"]},
            "memory_state": {"rotate_bytes": int(rotate_bytes), "max_copies": MAX_COPIES,
                             "outputs": "preallocated and zeroed before timing"},
            "power_source": getattr(reader, "source", None),
            "cold": ({"method": f"{SHORT_COLD_CALLS} single calls (calls under {SHORT_CALL_S * 1e3:g} ms) "
                                "or one per shape and round, each after streaming over "
                                f"{cold_pair[0].nbytes} B (evicts the caches); median = cold_s",
                      "evict_bytes": cold_pair[0].nbytes,
                      "contexts_from_pass_start_below_s": below_s}
                     if cold_pair else None),
            "probes": ({"runs": probe_runs, "noise": probe_noise(probe_runs),
                        "median": _probe_median(probe_runs)} if probe_runs else None),
            "elapsed_s": round(time.perf_counter() - started, 3),
            # share of the sweep its threads waited for a CPU (other processes on its cores)
            "waited_fraction": waited_fraction(delay0, delay.read(), time.perf_counter() - started,
                                               int(threads)),
            "median_heldout_error": float(np.median(errors)) if errors else None,
        },
        "kernels": table_kernels,
    }
    if contexts:
        table["contexts"] = contexts
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(table, indent=1) + "\n")
    return table


def _contexts(pipelines: dict[str, Any], fitted: dict[str, dict], torch, device: str,
              cold_pair, rotate_bytes: int, seed: int,
              prefix_below_s: float = PREFIX_BELOW_S) -> list[dict[str, Any]]:
    """Cold single calls of the pipelines' tasks in their context, the predecessor chain
    replayed (:func:`calibration.contexts.measure_contexts`), each distinct context once;
    the tasks *fitted* (kernel -> points and fit, this run's) prices as short are replayed
    from the start of their pass."""
    from hetsim.costs.fitted import predict
    from hetsim.graph import task_of

    from .contexts import entry_key, measure_contexts, short_tasks
    from .rounds import _Pass

    kernels = set(fitted)

    def cold_s(task):
        if task.kernel not in fitted:
            return None
        return predict(fitted[task.kernel]["fit"], task.kernel, dict(task.shape), cold=True)[0]

    evict, clock = cold_pair
    out, seen = [], set()
    with torch.inference_mode():
        for idx, graph in enumerate(pipelines.values()):
            if not any(task_of(graph, n).kernel in kernels for n in graph.nodes):
                continue  # none of its tasks priced by this table: nothing to measure
            p = _Pass(graph, device, torch, seed + 7000 + idx)
            p.touch()
            for e in measure_contexts(p, evict, clock, cold_calls, rotate_bytes=rotate_bytes,
                                      seed=seed + idx, from_start=short_tasks(p, cold_s, prefix_below_s),
                                      skip=lambda key, task: key in seen or task.kernel not in kernels):
                seen.add(entry_key(e))
                out.append(e)
            p.release()
    return out


def _probe_median(runs: list[dict]) -> dict[str, Any]:
    """Per-probe median over probe runs (non-numeric fields from the last run)."""
    out = dict(runs[-1])
    for key in runs[-1]:
        vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if vals:
            out[key] = float(np.median(vals))
    return out


def heldout_errors(table: dict[str, Any]) -> dict[str, float | None]:
    """Kernel name -> held-out error (fraction) of a table's fits."""
    return {k: v["fit"].get("heldout_error") for k, v in table.get("kernels", {}).items()}


__all__ = ["calibrate", "heldout_errors", "cpu_model", "last_level_cache_bytes", "QUICK", "FULL"]
