"""Cycle model of the Quest/LServe page-bound selector (``hls/include/page_bound.h``).

Per batch row, npages = num_pages (or ceil(num_keys/page_size)), bpr = ceil(head_dim/32):

- ``pb.q_beat`` = bpr, ``pb.page_beat`` = npages*bpr (one kmin + one kmax beat per cycle on two
  ports), ``pb.page`` = npages
- top-k engine over npages items

cycles    = batch*(bpr + max(npages*bpr*ii, npages + rescans*log2(k_max)) + k + depth)
hbm_bytes = batch*64*(bpr + 2*npages*bpr + ceil(k/16))
"""

from __future__ import annotations

from typing import Mapping

from ._common import memory_cycles, Memory, Structure, elem_bytes, elems_per_beat, stream_rate, total_ports, BEAT_BYTES, CycleEstimate, Design, ceil_div, clamp_k, scale_loops, topk_engine

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 2,
    "aux_ports": 2,
    "lanes": 1,
    "elem_type": "int16",
    "elems_per_beat": None,
    "k_max": 512,
    "hit_model": "random",
    "rescan_cycles": None,
    "depth": 50,
}
SHAPE_KEYS = ("batch", "head_dim", "k")  # plus num_pages, or num_keys and page_size


def num_pages(shape: Mapping[str, int]) -> int:
    """Pages from the shape: ``num_pages`` if given, else ceil(num_keys / page_size)."""
    if "num_pages" in shape:
        return int(shape["num_pages"])
    if "num_keys" not in shape or "page_size" not in shape:
        raise ValueError("page_bound needs shape key 'num_pages', or 'num_keys' and 'page_size'")
    return ceil_div(shape["num_keys"], shape["page_size"])


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``page_bound`` invocation (see module docstring)."""
    batch, k = shape["batch"], shape["k"]
    npg = num_pages(shape)
    kk = clamp_k(k, int(p["k_max"]))
    bpr = ceil_div(shape["head_dim"], elems_per_beat(p))
    row = {"pb.q_beat": bpr, "pb.page_beat": npg * bpr, "pb.page": npg}
    tk, stall = topk_engine(npg, k, p)
    row.update(tk)
    # kmin and kmax stream on separate ports: each stream has hbm_ports // 2 channels
    stream = max(ceil_div(npg * bpr, stream_rate(p, streams=2)) * int(p["ii"]), npg + stall,
                 memory_cycles(npg * bpr, int(p["hbm_ports"]) // 2, p))
    cycles_row = max(bpr, memory_cycles(bpr, 1, p)) + stream + kk + int(p["depth"])
    bytes_row = BEAT_BYTES * (bpr + 2 * npg * bpr + ceil_div(kk, 16))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p), scale_loops(row, batch),
                         float(p["clock_hz"]))


def structure(p: Mapping[str, object]) -> Structure:
    """hls/src/page_bound.cpp: 2 products (q*kmin, q*kmax) per element per lane, top-k slots."""
    return Structure(macs=2 * elems_per_beat(p) * int(p["lanes"]), mac_type=str(p["elem_type"]),
                     memories=(Memory(8 * elem_bytes(p), 128, 1, "reg"), Memory(64 + 32, int(p["k_max"]), 1, "reg")),
                     ports=total_ports(p), comparators=int(p["k_max"]))


DESIGN = Design(
    name="page_bound",
    description="Quest/LServe page upper bound sum_d max(q_d kmin_d, q_d kmax_d) + top pages (K <= 512)",
    header="hls/include/page_bound.h",
    top="page_bound",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (2, 4, 8), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)
