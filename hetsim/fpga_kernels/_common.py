"""Shared pieces of the FPGA kernel cycle models: the result type, the design record and the
data-dependent top-k engine model.

Why a separate module: every kernel in ``hls/`` ends in the same streaming top-k engine
(``hls/include/topk.h``), so its cost (fill, replacements, min-tree rescans, drain) is modelled
once here and reused. Only the standard library and numpy are imported, so the simulator can
use these models without pulling anything else in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

BEAT_BYTES = 64
"""Bytes per 512-bit AXI beat: every HBM port of every hetsim kernel is 512 bits wide."""

ELEM_BYTES: dict[str, int] = {"int8": 1, "int16": 2, "fp16": 2, "int32": 4, "fp32": 4}
"""Bytes per element of every element type a design may stream (``elem_type`` parameter)."""

EULER_GAMMA = 0.5772156649015329

HIT_MODELS = ("random", "worst", "best")


@dataclass(frozen=True)
class CycleEstimate:
    """Cost of one kernel invocation.

    Attributes
    ----------
    cycles : int
        Kernel clock cycles of one invocation: loop trip counts x II plus pipeline depths.
    hbm_bytes : int
        Bytes read plus written in the FPGA's HBM, counted in whole 64 B beats.
    hbm_ports : int
        HBM pseudo-channel ports (AXI masters) the design uses.
    loops : dict[str, int]
        Trip count of each loop (and top-k event counts), named like the ``HETSIM_COUNT``
        counters of the C++ kernel, so tests can compare them with a C simulation.
    clock_hz : float
        Kernel clock the cycles are meant at (300 MHz by default, the U55C platform clock).
    """

    cycles: int
    hbm_bytes: int
    hbm_ports: int
    loops: dict[str, int] = field(default_factory=dict)
    clock_hz: float = 300e6

    @property
    def time_s(self) -> float:
        """Duration of the invocation in seconds (cycles / clock_hz), without launch overhead."""
        return self.cycles / self.clock_hz


@dataclass(frozen=True)
class Design:
    """One synthesizable kernel design and its cycle model.

    Attributes
    ----------
    name : str
        Registry key (also the name the simulator asks for).
    description : str
        One line on what the kernel computes.
    header : str
        Path of the C++ header documenting the interface, relative to the repository root.
    top : str
        Name of the HLS top function.
    defaults : Mapping[str, object]
        Default model parameters (clock_hz, ii, hbm_ports, elems_per_beat, depth, k_max, ...).
    shape_keys : tuple[str, ...]
        Required shape keys.
    model : Callable
        ``model(shape, params) -> CycleEstimate`` with params already merged with defaults.
    """

    name: str
    description: str
    header: str
    top: str
    defaults: Mapping[str, object]
    shape_keys: tuple[str, ...]
    model: Callable[[Mapping[str, int], Mapping[str, object]], CycleEstimate]
    structure: Callable[[Mapping[str, object]], "Structure"] | None = None
    study_note: str = ""
    sweep: Mapping[str, tuple] = field(default_factory=dict)
    #: design shape key -> the simulator's task shape key it is read from when absent (so a
    #: workload's kernel, e.g. ``moe_experts``, can be priced by a design with its own names)
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Memory:
    """One on-chip array of a design after partitioning: ``copies`` banks of width x depth bits.

    ``kind`` is ``bram``, ``uram`` or ``reg`` (fully partitioned: flip-flops and LUTs).
    """

    width_bits: int
    depth: int
    copies: int = 1
    kind: str = "bram"


@dataclass(frozen=True)
class Structure:
    """Hardware of ONE compute unit, read off the HLS code (compile-time maxima, not a shape).

    Attributes
    ----------
    macs : int
        Multiply-accumulate units working every cycle (``mac_type`` operands).
    mac_type : str
        Operand type of the MACs (a key of :data:`ELEM_BYTES`).
    fp_ops : int
        Extra fp32 adders/multipliers (weighted sums, IDF, gates).
    memories : tuple[Memory, ...]
        On-chip arrays.
    ports : int
        AXI master ports (HBM pseudo-channels) of the unit.
    comparators : int
        Compare-select slots (top-k registers, min trees); they cost LUTs.
    """

    macs: int
    mac_type: str
    fp_ops: int = 0
    memories: tuple = ()
    ports: int = 1
    comparators: int = 0


def elem_bytes(p: Mapping[str, object]) -> int:
    """Bytes per element of the design's ``elem_type`` (ValueError naming the allowed ones)."""
    t = str(p.get("elem_type", "int16"))
    if t not in ELEM_BYTES:
        raise ValueError(f"elem_type must be one of {sorted(ELEM_BYTES)}, got {t!r}")
    return ELEM_BYTES[t]


def elems_per_beat(p: Mapping[str, object], beat_bytes: int = BEAT_BYTES) -> int:
    """Elements per beat: an explicit ``elems_per_beat`` wins, else beat_bytes / element bytes."""
    e = p.get("elems_per_beat")
    if e is not None:
        return int(e)
    return max(1, beat_bytes // elem_bytes(p))


def total_ports(p: Mapping[str, object]) -> int:
    """AXI ports of one unit: the streaming ``hbm_ports`` plus the fixed ``aux_ports``."""
    return int(p["hbm_ports"]) + int(p.get("aux_ports", 0))


def stream_rate(p: Mapping[str, object], streams: int = 1) -> int:
    """Beats per cycle a unit consumes: its ``hbm_ports`` split over ``streams`` lock-step
    streams, capped by its ``lanes`` (parallel beat consumers)."""
    ports = int(p["hbm_ports"])
    if ports < streams or ports < 1:
        raise ValueError(f"hbm_ports must be >= {streams} for this design, got {ports}")
    return max(1, min(ports // streams, int(p.get("lanes", 1))))


def port_beats_per_cycle(p: Mapping[str, object], line_bytes: int = BEAT_BYTES) -> float:
    """Lines one port can be fed per kernel cycle: 1, or less when the HBM pseudo-channel behind
    it (``channel_Bps``, from the device file) is slower than line_bytes x clock_hz.

    Why: a 512-bit port at 300 MHz asks for 19.2 GB/s, a U55C pseudo-channel gives ~13.3 GB/s,
    so a port cannot deliver a beat every cycle. ``channel_Bps=None`` means no channel limit
    (the loop structure alone, as the C simulation counts it).
    """
    ch = p.get("channel_Bps")
    if ch is None:
        return 1.0
    ch = float(ch)
    if ch <= 0:
        raise ValueError(f"channel_Bps must be > 0 (B/s per HBM pseudo-channel), got {ch!r}")
    return min(1.0, ch / (line_bytes * float(p["clock_hz"])))


def memory_cycles(lines: int, ports: int, p: Mapping[str, object], line_bytes: int = BEAT_BYTES) -> int:
    """Fewest cycles in which *ports* pseudo-channels deliver *lines* lines of line_bytes.

    A streaming phase takes max(its loop cycles, this): the excess is memory-stall cycles, so a
    compute-bound phase keeps its loop count.
    """
    ports = max(1, int(ports))
    f = port_beats_per_cycle(p, line_bytes)
    if f >= 1.0:
        return ceil_div(lines, ports)
    return math.ceil(int(lines) / (ports * f))


def ceil_div(a: int, b: int) -> int:
    """Ceiling of a / b for non-negative integers."""
    return -(-int(a) // int(b))


def log2_ceil(n: int) -> int:
    """Levels of a binary comparator tree over n slots (n >= 1)."""
    return max(0, math.ceil(math.log2(n)))


_HARMONIC: dict[int, float] = {}  # H_n by n: a run asks for the same few n per kernel shape


def harmonic(n: int) -> float:
    """H_n = sum_{i=1}^{n} 1/i (exact below 10^5, asymptotic series above).

    ``math.fsum`` rounds the sum of the terms once, so it needs no numpy (a run that prices
    FPGA kernels would otherwise import numpy, about 0.15 s, for this alone). It differs from
    numpy's pairwise sum by at most a few ulps (5.3e-15 below 10^5), and its only use,
    :func:`topk_replacements`, rounds ``k (H_n - H_k)`` to an integer: all 252M pairs with
    k <= 2048 (and every 97th k above), n < 10^5, round to the same integer either way.
    """
    if n <= 0:
        return 0.0
    if n < 100_000:
        h = _HARMONIC.get(n)
        if h is None:
            if len(_HARMONIC) >= 4096:
                _HARMONIC.clear()
            h = _HARMONIC[n] = math.fsum(map((1.0).__truediv__, range(1, n + 1)))
        return h
    return math.log(n) + EULER_GAMMA + 1.0 / (2 * n) - 1.0 / (12 * n * n)


def clamp_k(k: int, k_max: int) -> int:
    """The engine's runtime k: the C++ clamps to [1, KMAX], and so does the model."""
    return min(max(int(k), 1), int(k_max))


def topk_replacements(n: int, k: int, hit_model: str) -> int:
    """Expected replacements after the fill for n items into a k-slot engine.

    Why: the engine's cost depends on the data order. For a uniformly random order, item i
    (0-based) enters the set with probability k / (i + 1), so the expectation is
    ``k (H_n - H_k) ~ k ln(n / k)``; ascending input ("worst") replaces on every item after the
    fill, descending input ("best") never.
    """
    if hit_model not in HIT_MODELS:
        raise ValueError(f"hit_model must be one of {HIT_MODELS}, got {hit_model!r}")
    if n <= k:
        return 0
    if hit_model == "worst":
        return n - k
    if hit_model == "best":
        return 0
    return int(round(k * (harmonic(n) - harmonic(k))))


def topk_engine(n: int, k: int, params: Mapping[str, object], prefix: str = "topk") -> tuple[dict[str, int], int]:
    """Loop counts and cycles of the top-k engine fed one item per cycle (fused kernels).

    Returns
    -------
    loops : dict
        ``topk.replace``, ``topk.rescan`` and ``topk.drain`` for one batch row.
    stall_cycles : int
        Extra cycles spent in min-tree rescans (rescans x rescan_cycles).
    """
    kk = clamp_k(k, int(params["k_max"]))
    rep = topk_replacements(n, kk, str(params["hit_model"]))
    rescan = (1 if n >= kk else 0) + rep
    loops = {f"{prefix}.replace": rep, f"{prefix}.rescan": rescan, f"{prefix}.drain": kk}
    return loops, rescan * rescan_cycles(params)


def rescan_cycles(params: Mapping[str, object]) -> int:
    """Cycles of one min-tree search: log2(k_max) comparator levels unless overridden."""
    rc = params.get("rescan_cycles")
    return int(rc) if rc is not None else log2_ceil(int(params["k_max"]))


#: items after the fill evaluated in the single vectorised pass (every shape the study and the
#: scenarios price; its arrays are ~16 MB at this size)
_EXACT_ITEMS = 1 << 21
#: beyond, items are summed exactly in chunks of this many up to this limit, then in closed
#: form: a huge ``num_items`` allocated arrays of its size (1e13 items: 73 TiB, a MemoryError)
_CHUNK_ITEMS = 1 << 20
_EXACT_LIMIT = 1 << 22


def expected_serial_beats(n: int, k: int, lanes: int, hit_model: str) -> float:
    """Beats the standalone top-k sends through its serial path (fill beats + beats with a hit).

    For random order, a beat after the fill has a hit with probability
    ``1 - prod_i (1 - k/(i+1))`` over its items (independence approximation). Past
    ``_EXACT_LIMIT`` items (and at least 64 k items, so that k/i < 1/64) the beats' hit
    probabilities y_b ~ k ln((b+1)/b) are small and summed in closed form,
    ``sum (1 - e^-y) ~ sum y - sum y^2 / 2``: memory stays bounded and time constant.
    """
    beats = ceil_div(n, lanes)
    fill = min(beats, ceil_div(k, lanes))
    if hit_model == "worst":
        return float(beats) if n > k else float(fill)
    if hit_model == "best" or beats == fill:
        return float(fill)
    import numpy as np  # here, not at the top: most runs never reach this

    start = fill * lanes
    if n - start <= _EXACT_ITEMS:
        i = np.arange(start, n, dtype=np.float64)
        logp = np.log1p(-k / (i + 1.0))
        beat_id = (i // lanes).astype(np.int64) - fill
        no_hit = np.exp(np.bincount(beat_id, weights=logp))
        return fill + float(np.sum(1.0 - no_hit))
    chunk = max(1, _CHUNK_ITEMS // lanes) * lanes  # whole beats per chunk
    limit = max(_EXACT_LIMIT, 64 * k)
    stop = n if n - start <= limit else start + (limit // lanes) * lanes
    total = float(fill)
    for a in range(start, stop, chunk):
        i = np.arange(a, min(a + chunk, stop), dtype=np.float64)
        logp = np.log1p(-k / (i + 1.0))
        beat_id = ((i - a) // lanes).astype(np.int64)
        total += float(np.sum(1.0 - np.exp(np.bincount(beat_id, weights=logp))))
    if stop < n:  # y summed over the remaining beats telescopes; y^2 ~ (k lanes / i)^2 per beat
        total += k * math.log((n + 0.5) / (stop + 0.5)) - 0.5 * k * k * lanes * (1.0 / stop - 1.0 / n)
    return total


def scale_loops(loops: Mapping[str, int], batch: int) -> dict[str, int]:
    """Per-row trip counts times the number of batch rows."""
    return {name: int(v) * int(batch) for name, v in loops.items()}
