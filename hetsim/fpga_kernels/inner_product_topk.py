"""Cycle model of dense inner-product retrieval (``hls/include/inner_product_topk.h``).

Per batch row, bpr = ceil(dim/32):

- ``ip.q_beat`` = bpr, ``ip.item_beat`` = num_items*bpr, ``ip.item`` = num_items
- top-k engine over num_items items

cycles    = batch*(bpr + max(num_items*bpr*ii, num_items + rescans*log2(k_max)) + k + depth)
hbm_bytes = batch*64*(bpr + num_items*bpr + ceil(k/16))   (the table is re-streamed per query)
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
SHAPE_KEYS = ("batch", "num_items", "dim", "k")
MAX_DIM = 1024


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``inner_product_topk`` invocation (see module docstring)."""
    batch, n, dim, k = (shape[x] for x in SHAPE_KEYS)
    if dim > MAX_DIM:
        raise ValueError(f"inner_product_topk supports dim <= {MAX_DIM}, got {dim}")
    kk = clamp_k(k, int(p["k_max"]))
    bpr = ceil_div(dim, elems_per_beat(p))
    row = {"ip.q_beat": bpr, "ip.item_beat": n * bpr, "ip.item": n}
    tk, stall = topk_engine(n, k, p)
    row.update(tk)
    stream = max(ceil_div(n * bpr, stream_rate(p)) * int(p["ii"]), n + stall,
                 memory_cycles(n * bpr, int(p["hbm_ports"]), p))
    cycles_row = max(bpr, memory_cycles(bpr, 1, p)) + stream + kk + int(p["depth"])
    bytes_row = BEAT_BYTES * (bpr + n * bpr + ceil_div(kk, 16))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p), scale_loops(row, batch),
                         float(p["clock_hz"]))


def structure(p: Mapping[str, object]) -> Structure:
    """hls/src/inner_product_topk.cpp: a beat-wide dot product per lane, q (<= 1024) in registers."""
    return Structure(macs=elems_per_beat(p) * int(p["lanes"]), mac_type=str(p["elem_type"]),
                     memories=(Memory(8 * elem_bytes(p), MAX_DIM, 1, "reg"), Memory(64 + 32, int(p["k_max"]), 1, "reg")),
                     ports=total_ports(p), comparators=int(p["k_max"]))


DESIGN = Design(
    name="inner_product_topk",
    description="dense retrieval / HMT memory search: top-k of q . x over int16 vectors (K <= 256)",
    header="hls/include/inner_product_topk.h",
    top="inner_product_topk",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (1, 2, 4), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)
