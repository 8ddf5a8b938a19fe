"""Cycle models of hetsim's HLS kernels (``hls/``), one module per kernel.

Why: the simulator prices FPGA tasks from these models instead of a roofline. Each model is a
pure function of the task shape that mirrors the kernel's loop structure -- trip count x II plus
pipeline depth per loop, with the data-dependent top-k cost modelled explicitly (``hit_model``:
"random" = expected k ln(n/k) replacements, "worst" = every item replaces, "best" = none).
``tests/hls`` checks the trip counts against counters the C++ executes in C simulation.

Only the standard library and numpy are imported (no other hetsim module), so data flows one
way: the simulator imports this package, never the reverse.

Examples
--------
>>> from hetsim.fpga_kernels import estimate
>>> e = estimate("dsa_indexer", {"batch": 1, "num_keys": 4096, "num_heads": 64, "head_dim": 128, "k": 2048})
>>> e.loops["dsa.key_beat"]
16384
"""

from __future__ import annotations

from typing import Mapping

from . import bm25, block_gate, dsa_indexer, engram_gather, inner_product_topk, page_bound, topk
from ._common import ELEM_BYTES, CycleEstimate, Design, Structure
from .resources import placement_overflow, unit_resources
from .study import STUDY_DESIGNS

__all__ = ["CycleEstimate", "Design", "DESIGNS", "ELEM_BYTES", "HETSIM_DESIGNS", "STUDY_DESIGNS", "Structure",
           "estimate", "merged_params", "placement_overflow", "structure", "unit_resources"]

DESIGNS: dict[str, Design] = {
    "topk": topk.DESIGN,
    "dsa_indexer": dsa_indexer.DESIGN,
    "dsa_indexer_score": dsa_indexer.DESIGN_SCORE,
    "block_gate": block_gate.DESIGN,
    "page_bound": page_bound.DESIGN,
    "bm25": bm25.DESIGN,
    "inner_product_topk": inner_product_topk.DESIGN,
    "engram_gather": engram_gather.DESIGN,
}
HETSIM_DESIGNS = tuple(DESIGNS)
DESIGNS.update(STUDY_DESIGNS)
"""Every kernel design: name -> :class:`Design` (description, header, top, default params, model);
hetsim's own (``HETSIM_DESIGNS``) and the study's (``study_*``, see :mod:`.study`)."""


def merged_params(kernel: str, params: Mapping[str, object] | None = None) -> dict[str, object]:
    """The design's defaults overridden by *params* (unknown names are a ValueError)."""
    if kernel not in DESIGNS:
        raise ValueError(f"unknown FPGA kernel {kernel!r}; known: {', '.join(sorted(DESIGNS))}")
    merged = dict(DESIGNS[kernel].defaults)
    for key, v in (params or {}).items():
        if key not in merged:
            raise ValueError(f"{kernel}: unknown parameter {key!r}; known: {sorted(merged)}")
        merged[key] = _typed(kernel, key, merged[key], v)
    return merged


#: integer design parameters for which 0 is a design (no auxiliary ports, no per-term or
#: pipeline latency); every other count (ports, lanes, ii, heads, k_max, ...) is at least 1
_MAY_BE_ZERO = frozenset({"aux_ports", "term_overhead", "depth"})


def _typed(kernel: str, key: str, default: object, v: object) -> object:
    """*v* checked against the type of the design's default: a flag stays a flag and a count
    an integer, so ``lanes: true`` or ``hbm_ports: 4.5`` is refused instead of read as 1 or 4."""
    def bad(allowed: str):
        return ValueError(f"{kernel}: parameter {key!r} must be {allowed}, got {v!r}")

    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise bad("true or false")
        return v
    if isinstance(default, int):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
            raise bad("an integer")
        low = 0 if key in _MAY_BE_ZERO else 1
        if v < low:  # 0 ports or lanes divided by zero (a traceback); -1 priced a negative design
            raise bad(f"an integer >= {low}")
        return int(v)
    if isinstance(default, str):
        if not isinstance(v, str):
            raise bad("a string")
        return v
    # float or None (optional numbers such as channel_Bps): any number, or None
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
        raise bad("a number")
    return v


def structure(kernel: str, params: Mapping[str, object] | None = None) -> Structure:
    """Hardware structure of one compute unit of *kernel* with *params*."""
    d = DESIGNS[kernel] if kernel in DESIGNS else None
    merged = merged_params(kernel, params)
    if d is None or d.structure is None:
        raise ValueError(f"{kernel}: no structure model")
    return d.structure(merged)


def estimate(kernel: str, shape: Mapping[str, int], params: Mapping[str, object] | None = None) -> CycleEstimate:
    """Cycles, HBM bytes, ports and loop trip counts of one kernel invocation.

    Parameters
    ----------
    kernel : str
        A key of :data:`DESIGNS`.
    shape : Mapping[str, int]
        Task shape; must hold the design's ``shape_keys`` (extra keys, e.g. ``elem_bytes``,
        are ignored so the simulator can pass its task shapes unchanged). Values must be
        positive integers.
    params : Mapping, optional
        Overrides of the design's default parameters (``clock_hz``, ``ii``, ``depth``,
        ``k_max``, ``hit_model``, ...). Unknown names are an error so a typo cannot silently
        fall back to a default.

    Returns
    -------
    CycleEstimate

    Raises
    ------
    ValueError
        Unknown kernel or parameter, missing or non-positive shape value, or a shape the
        design cannot run (e.g. more heads than it has MAC lanes).
    """
    if kernel not in DESIGNS:
        raise ValueError(f"unknown FPGA kernel {kernel!r}; known: {', '.join(sorted(DESIGNS))}")
    d = DESIGNS[kernel]
    shape = {**{k: shape[a] for k, a in d.aliases.items() if k not in shape and a in shape}, **shape}
    missing = [k for k in d.shape_keys if k not in shape]
    if missing:
        raise ValueError(f"{kernel}: shape is missing {missing} (needs {list(d.shape_keys)})")
    clean: dict[str, int] = {}
    for key, v in shape.items():
        if key in d.shape_keys or key in ("num_keys", "num_pages", "page_size", "num_posting_beats", "num_tokens",
                                              "num_memories", "num_queries"):
            iv = int(v)
            if iv != v or iv <= 0:
                raise ValueError(f"{kernel}: shape[{key!r}] must be a positive integer, got {v!r}")
            clean[key] = iv
    merged = merged_params(kernel, params)
    return d.model(clean, merged)
