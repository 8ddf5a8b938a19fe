"""GEMM time from output tiles scheduled in waves over the compute units (after LLMCompass
and NeuSight's tile-level predictions).

A library GEMM ``C[m,n] = A[m,k] @ W[k,n]`` cuts C into ``Tm x Tn`` output tiles; each tile
is one thread block on one compute unit (SM / CU), and the blocks run in *waves* of at most
``compute_units`` at a time. A wave lasts as long as one tile's ``2 Tm Tn (k + k0)`` FLOP at
the unit's share of the peak rate times the tile shape's efficiency (``k0`` is the k-loop's
prologue and epilogue, counted as extra k). When the tiles do not fill the units, the library
splits k (``split_k``): more, shorter blocks, plus a pass that writes and reads the fp32
partial sums. A partial last wave, with a fraction ``f`` of the units busy, costs
``f**wave_tail`` of a full one (fitted; 1 would be no quantisation, 0 a full wave): its
blocks run with less competition for memory bandwidth, L2 and the power budget, so on the
measured A100 and H100 profiles it costs about ``sqrt(f)``. This also flattens the
predicted throughput at many waves, where measured throughput is flat too. The library is
assumed to pick the fastest (tile, split) candidate. The time is

``t = overhead_s + (compute**p + memory**p) ** (1/p)``

with ``memory = bytes / (achievable bandwidth x memory_efficiency)``: a smooth maximum (``p``
the fitted overlap exponent) because compute and weight streaming overlap imperfectly when
they are close. This reproduces what a roofline cannot: the quantisation of waves (a GEMM
that needs 1.1 waves costs more than one), the loss of small tiles at mid token counts, and the
launch-bound regime of tiny GEMMs.

A fit may carry a row-stride factor (``alias_stride_bytes``, ``alias_efficiency``): where the
row strides of *both* operands are a multiple of that stride, the compute term runs at that
fraction, because the rows every tile loads at one k-step then fall on the same few memory
channels (on the MI210's fp32 fit: 128 KiB rows; see README "GPU cost fidelity"). The strides
follow the operand layout: F.linear's ``x @ W.T`` (``nt``, the default) has both operands'
rows ``k x elem_bytes`` long; ``A @ B`` (``nn``) has A's rows ``k x elem_bytes`` and B's
``n x elem_bytes``, so only one of them may hit.

Parameters live in the device file (``gemm_tiles``) and are fitted by
``python -m calibration.gemm_tiles`` from public per-operator profiles.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def _waves(w: np.ndarray, tail) -> np.ndarray:
    """Waves a grid of *w* unit-loads costs: the full waves plus the last, partial one. With
    ``wave_tail`` unset the partial wave costs a full one (``ceil``); with ``wave_tail = g``
    it costs ``f**g`` of one when a fraction ``f`` of the units is busy, because the blocks
    of a partial wave share the memory system and power budget with fewer others."""
    import numpy as np

    if tail is None:
        return np.ceil(w)
    full = np.floor(w)
    frac = w - full
    return full + np.where(frac > 0, np.power(np.maximum(frac, 1e-12), float(tail)), 0.0)


def _scalar_waves(w: float, tail) -> float:
    """:func:`_waves` for one Python float (same operations, same order)."""
    if tail is None:
        return float(math.ceil(w))
    full = float(math.floor(w))
    frac = w - full
    return full + (max(frac, 1e-12) ** float(tail) if frac > 0 else 0.0)


def rows_at_stride(stride_bytes, k, n, nn, elem_bytes):
    """Whether both operands' rows are multiples of *stride_bytes* long: A's rows are
    ``k x elem_bytes``; B's are the same in the ``nt`` layout (F.linear's weight, ``nn`` = 0)
    and ``n x elem_bytes`` in ``nn`` (``A @ B``). Works on Python numbers and numpy arrays
    (used by the row-stride factor and by its fit)."""
    if isinstance(nn, (int, bool)) and not hasattr(k, "shape"):
        b_rows = n if nn else k
    else:
        import numpy as np

        b_rows = np.where(np.asarray(nn) != 0, n, k)
    return ((k * elem_bytes) % float(stride_bytes) == 0) & ((b_rows * elem_bytes) % float(stride_bytes) == 0)


def _alias_factor(p: Mapping[str, Any], k, n, nn, elem_bytes):
    """Compute-rate factor of a GEMM: the fit's ``alias_efficiency`` where both operands' rows
    are at a multiple of ``alias_stride_bytes`` (:func:`rows_at_stride`; the rows of a tile,
    and the tiles of all units at the same k-step, then map to the same few memory channels /
    cache sets and queue behind each other), else 1. Fitted on ``nt`` rows, where the two
    strides are equal; that one operand hitting is not enough is KernelBench's ``A @ B`` at
    k = 131072 fp32 (README). Works on floats and arrays."""
    stride = p.get("alias_stride_bytes")
    if not stride:
        return 1.0
    eff = float(p.get("alias_efficiency", 1.0))
    hit = rows_at_stride(stride, k, n, nn, elem_bytes)
    if isinstance(hit, bool):
        return eff if hit else 1.0
    import numpy as np

    return np.where(hit, eff, 1.0)


def tile_times(p: Mapping[str, Any], peak_flop_per_s: float, bandwidth_Bps: float,
               m, n, k, elem_bytes=2, batch=1, nn=0) -> np.ndarray:
    """Vectorised GEMM time in s for arrays *m, n, k* (and *batch* GEMMs per launch, *nn* the
    operand layout as :func:`gemm_time`) under tile parameters *p* (for fitting)."""
    import numpy as np

    m, n, k, b = (np.asarray(x, dtype=float) for x in (m, n, k, batch))
    units = float(p["compute_units"])
    per_unit = peak_flop_per_s / units
    k0 = float(p["k_overhead"])
    tail = p.get("wave_tail")
    split = np.asarray(p["split_k"], dtype=float).reshape((-1,) + (1,) * m.ndim)
    kk = np.ceil(k / split)  # k per split, one row per split factor
    # fp32 partial sums written by each split and read back once (none without a split)
    reduce = np.where(split > 1, b * m * n * 4.0 * split * 2.0 / bandwidth_Bps, 0.0)
    best = np.full(np.broadcast(m, n, k, b).shape, np.inf)
    for tile in p["tiles"]:
        tm, tn, eff = float(tile["m"]), float(tile["n"]), float(tile["efficiency"])
        tiles = np.ceil(m / tm) * np.ceil(n / tn) * b
        waves = _waves(tiles * split / units, tail)
        comp = waves * 2.0 * tm * tn * (kk + k0) / (per_unit * eff) + reduce
        best = np.minimum(best, comp.min(axis=0))
    best = best / _alias_factor(p, k, n, nn, elem_bytes)
    nbytes = b * (m * k + k * n + m * n) * elem_bytes
    mem = nbytes / (bandwidth_Bps * float(p["memory_efficiency"]))
    e = float(p["overlap_exponent"])
    try:
        return float(p["overhead_s"]) + (best ** e + mem ** e) ** (1.0 / e)
    except OverflowError:  # huge times (a tiny rate): the same p-norm, scaled by the larger term
        top = max(best, mem)
        return float(p["overhead_s"]) + top * ((best / top) ** e + (mem / top) ** e) ** (1.0 / e)


def gemm_time(p: Mapping[str, Any], peak_flop_per_s: float, bandwidth_Bps: float,
              m: int, n: int, k: int, elem_bytes: int = 2, batch: int = 1, nn: int = 0,
              split_k=None, whole_waves: bool = False) -> float:
    """Time in s of one ``m x n x k`` GEMM, or of *batch* of them in one launch (``bmm``:
    the batch's output tiles share the waves, so a batch of small GEMMs fills the units
    that one of them leaves idle; see module doc). *nn* is the operand layout (1: B is
    n-contiguous); *split_k* replaces the fit's k splits where the library's kernel for the
    call cannot split k (a GEMM with a unit dimension on rocBLAS; see :mod:`hetsim.costs.gpu`);
    *whole_waves* prices a partial wave as a full one: a handful of tiles on an idle GPU each
    still run at no more than their own unit's rate (``wave_tail``, fitted on GEMMs with many
    tiles per wave, would let 2 tiles on 104 units run 30x faster than one unit can).

    The same float operations as :func:`tile_times`, in the same order, on Python floats
    (IEEE doubles, as numpy's float64), so a run that prices single GEMMs does not have to
    import numpy (about 0.15 s of a short run's start-up). The two agree to within a few units
    in the last place, not bit for bit: numpy's float64 power is its own implementation, not
    the C library's ``pow`` that Python's ``**`` calls, and the two round differently on about
    5% of inputs. Simulations price with this function only, so their results stay
    bit-identical run to run.
    """
    if m == 0 or n == 0 or k == 0 or batch == 0:
        return float(p["overhead_s"])
    m, n, k, b = float(m), float(n), float(k), float(batch)
    units = float(p["compute_units"])
    per_unit = peak_flop_per_s / units
    k0 = float(p["k_overhead"])
    tail = None if whole_waves else p.get("wave_tail")
    best = math.inf
    for tile in p["tiles"]:
        tm, tn, eff = float(tile["m"]), float(tile["n"]), float(tile["efficiency"])
        tiles = float(math.ceil(m / tm)) * float(math.ceil(n / tn)) * b
        for s in (p["split_k"] if split_k is None else split_k):
            kk = float(math.ceil(k / s))
            waves = _scalar_waves(tiles * s / units, tail)
            comp = waves * 2.0 * tm * tn * (kk + k0) / (per_unit * eff)
            if s > 1:  # fp32 partial sums written by each split and read back once
                comp = comp + b * m * n * 4.0 * s * 2.0 / bandwidth_Bps
            best = min(best, comp)
    best = best / _alias_factor(p, k, n, nn, elem_bytes)
    nbytes = b * (m * k + k * n + m * n) * elem_bytes
    mem = nbytes / (bandwidth_Bps * float(p["memory_efficiency"]))
    e = float(p["overlap_exponent"])
    return float(p["overhead_s"]) + (best ** e + mem ** e) ** (1.0 / e)


# ---------------------------------------------------------------------------------------------
# fitting: per GPU, from measured (m, n, k, seconds) points


def _extras(template: Mapping[str, Any]) -> list[str]:
    """Optional parameters the template asks to fit (present and not None)."""
    return [key for key in ("wave_tail",) if template.get(key) is not None]


def _unpack(x: np.ndarray, template: Mapping[str, Any], groups: list[list[int]]) -> dict:
    p = dict(template)
    p["overhead_s"] = math.exp(x[0])
    p["memory_efficiency"] = 1.0 / (1.0 + math.exp(-x[1]))
    # capped at the device schema's limit (a near-max() profile would otherwise leave it)
    p["overlap_exponent"] = min(1.0 + math.exp(x[2]), 50.0)
    p["k_overhead"] = math.exp(x[3])
    tiles = [dict(t) for t in template["tiles"]]
    for g, xi in zip(groups, x[4:4 + len(groups)]):
        for i in g:
            tiles[i]["efficiency"] = 1.0 / (1.0 + math.exp(-xi))
    p["tiles"] = tiles
    for key, xi in zip(_extras(template), x[4 + len(groups):]):
        p[key] = min(math.exp(xi), 1.0) if key == "wave_tail" else math.exp(xi)
    return p


def _area_groups(template: Mapping[str, Any]) -> list[list[int]]:
    """Tile indices grouped by tile area, largest first: tiles of equal area (256x128 and
    128x256) share one fitted efficiency."""
    areas: dict[int, list[int]] = {}
    for i, tile in enumerate(template["tiles"]):
        areas.setdefault(int(tile["m"]) * int(tile["n"]), []).append(i)
    return [areas[a] for a in sorted(areas, reverse=True)]


def fit_parameter_count(template: Mapping[str, Any]) -> int:
    """How many parameters :func:`fit_tiles` fits for *template* (fewer rows leave it
    undetermined): the four shared ones (overhead, memory efficiency, overlap exponent, k
    overhead), one efficiency per tile area and the template's extras."""
    return 4 + len(_area_groups(template)) + len(_extras(template))


def fit_tiles(template: Mapping[str, Any], peak_flop_per_s: float, bandwidth_Bps: float,
              m: Sequence[int], n: Sequence[int], k: Sequence[int], t: Sequence[float],
              batch: Sequence[int] | None = None, elem_bytes: int = 2,
              k_overhead0: float = 64.0) -> dict:
    """Fit overhead, memory efficiency, overlap exponent, k overhead and one efficiency per
    tile area (tiles of equal area, e.g. 256x128 and 128x256, share it) by minimising the mean
    relative error; return the parameters in the device-file layout. *batch* (GEMMs per
    launch, ``bmm``) defaults to one per row; *k_overhead0* is where the k overhead's search
    starts (a few k elements suits fp32 SIMT kernels, whose k-loop steps are short)."""
    import numpy as np

    from .fitted import _minimize

    m, n, k, t = (np.asarray(x, dtype=float) for x in (m, n, k, t))
    b = np.ones_like(m) if batch is None else np.asarray(batch, dtype=float)
    groups = _area_groups(template)

    def loss(x):
        pred = tile_times(_unpack(x, template, groups), peak_flop_per_s, bandwidth_Bps, m, n, k,
                          elem_bytes, b)
        return float(np.mean(np.abs(pred - t) / t))

    x0 = np.array([math.log(5e-6), 2.0, math.log(2.0), math.log(k_overhead0)] + [1.0] * len(groups)
                  + [math.log(float(template[key])) for key in _extras(template)])
    x = _minimize(loss, [x0])
    p = _unpack(x, template, groups)
    p["tiles"] = [{**tl, "efficiency": round(float(tl["efficiency"]), 5)} for tl in p["tiles"]]
    for key, digits in (("overhead_s", 9), ("memory_efficiency", 5), ("overlap_exponent", 4),
                        ("k_overhead", 2), ("wave_tail", 4)):
        if p.get(key) is not None:
            p[key] = round(float(p[key]), digits)
    return p
