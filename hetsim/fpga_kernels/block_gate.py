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

from ._common import memory_cycles, Memory, Structure, elem_bytes, elems_per_beat, stream_rate, total_ports, BEAT_BYTES, CycleEstimate, Design, ceil_div, clamp_k, scale_loops, topk_engine

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 1,
    "aux_ports": 2,
    "lanes": 1,
    "elem_type": "int16",
    "elems_per_beat": None,
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
    bpr = ceil_div(dim, elems_per_beat(p))
    row = {"bg.q_beat": bpr, "bg.block_beat": nblocks * bpr, "bg.block": nblocks,
           "bg.bitmap_beat": ceil_div(nblocks, 512)}
    tk, stall = topk_engine(nblocks, kb, p)
    row.update(tk)
    stream = max(ceil_div(nblocks * bpr, stream_rate(p)) * int(p["ii"]), nblocks + stall,
                 memory_cycles(nblocks * bpr, int(p["hbm_ports"]), p))
    cycles_row = max(bpr, memory_cycles(bpr, 1, p)) + stream + kb + int(p["depth"])
    bytes_row = BEAT_BYTES * (bpr + nblocks * bpr + ceil_div(kb, 16) + ceil_div(nblocks, 512))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p), scale_loops(row, batch),
                         float(p["clock_hz"]))


def structure(p: Mapping[str, object]) -> Structure:
    """hls/src/block_gate.cpp: one beat-wide dot product per lane, q in registers, top-k slots."""
    return Structure(macs=elems_per_beat(p) * int(p["lanes"]), mac_type=str(p["elem_type"]),
                     memories=(Memory(8 * elem_bytes(p), 1024, 1, "reg"), Memory(64 + 32, int(p["k_max"]), 1, "reg")),
                     ports=total_ports(p), comparators=int(p["k_max"]))


DESIGN = Design(
    name="block_gate",
    description="SeerAttention-R block gate: q . pooled block keys, threshold bitmap and token-budget top blocks",
    header="hls/include/block_gate.h",
    top="block_gate",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (1, 2, 4), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)
