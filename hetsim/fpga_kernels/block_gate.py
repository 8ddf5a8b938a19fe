"""Cycle model of the SeerAttention-R-style block gate (``hls/include/block_gate.h``).

Per batch row, nblocks = ceil(num_keys/block_size), kb = clamp(budget // block_size, 1, k_max),
bpr = ceil(head_dim/32):

- ``bg.q_beat`` = bpr, ``bg.block_beat`` = nblocks*bpr, ``bg.block`` = nblocks,
  ``bg.bitmap_beat`` = ceil(nblocks/512) (written from the block loop, no extra cycles)
- top-k engine over nblocks items with k = kb

cycles    = batch*(bpr + max(nblocks*bpr*ii, nblocks + rescans*log2(k_max)) + kb + depth)
hbm_bytes = batch*64*(bpr + nblocks*bpr + ceil(kb/16) + ceil(nblocks/512))
"""

from __future__ import annotations

from typing import Mapping

from ._common import BEAT_BYTES, CycleEstimate, Design, ceil_div, clamp_k, scale_loops, topk_engine

DEFAULTS = {
    "clock_hz": 300e6,
    "ii": 1,
    "hbm_ports": 3,
    "elems_per_beat": 32,
    "k_max": 256,
    "hit_model": "random",
    "rescan_cycles": None,
    "depth": 50,
}
SHAPE_KEYS = ("batch", "num_keys", "block_size", "head_dim", "budget")


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``block_gate`` invocation (see module docstring)."""
    batch, nk, bs, dim, budget = (shape[k] for k in SHAPE_KEYS)
    nblocks = ceil_div(nk, bs)
    kb = clamp_k(budget // bs, int(p["k_max"]))
    bpr = ceil_div(dim, int(p["elems_per_beat"]))
    row = {"bg.q_beat": bpr, "bg.block_beat": nblocks * bpr, "bg.block": nblocks,
           "bg.bitmap_beat": ceil_div(nblocks, 512)}
    tk, stall = topk_engine(nblocks, kb, p)
    row.update(tk)
    cycles_row = bpr + max(nblocks * bpr * int(p["ii"]), nblocks + stall) + kb + int(p["depth"])
    bytes_row = BEAT_BYTES * (bpr + nblocks * bpr + ceil_div(kb, 16) + ceil_div(nblocks, 512))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, int(p["hbm_ports"]), scale_loops(row, batch),
                         float(p["clock_hz"]))


DESIGN = Design(
    name="block_gate",
    description="SeerAttention-R block gate: q . pooled block keys, threshold bitmap and token-budget top blocks",
    header="hls/include/block_gate.h",
    top="block_gate",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
)
