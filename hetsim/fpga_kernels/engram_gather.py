"""Cycle model of Engram n-gram hashing + embedding-row gather (``hls/include/engram_gather.h``).

Shape: num_tokens N, num_heads H (<= 16), row_elems E; bpr = ceil(E/32) beats per row,
G = 4 gather groups (one table port and one output port each; group g serves heads g, g+4, ...).

- ``eg.token``    = N       (hash stage, one token per cycle, all heads in parallel)
- ``eg.row_beat`` = N*H*bpr (summed over the 4 groups; the busiest group does N*ceil(H/4)*bpr)

cycles    = ceil(max(N, N*ceil(H/4)*bpr*gather_ii)) + depth
hbm_bytes = 64*(ceil(N/16) + ceil(H/8) + 2*N*H*bpr)          (rows read + written)

gather_ii is the cycles per random 64 B beat per port: 1 assumes enough outstanding reads to
hide HBM latency; raise it (e.g. 2) to model random-access inefficiency until measured.
"""

from __future__ import annotations

import math
from typing import Mapping

from ._common import BEAT_BYTES, CycleEstimate, Design, Structure, ceil_div, elems_per_beat, memory_cycles, total_ports

GROUPS = 4
MAX_HEADS = 16
MAX_ROW = 256

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 2 * GROUPS,
    "aux_ports": 1,
    "lanes": 1,
    "elem_type": "int16",
    "elems_per_beat": None,
    "gather_ii": 1.0,
    "depth": 80,
}
SHAPE_KEYS = ("num_tokens", "num_heads", "row_elems")


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``engram_gather`` invocation (see module docstring)."""
    n, h, e = (shape[x] for x in SHAPE_KEYS)
    if h > MAX_HEADS or e > MAX_ROW:
        raise ValueError(f"engram_gather supports num_heads <= {MAX_HEADS}, row_elems <= {MAX_ROW}; got {h}, {e}")
    groups = total_ports(p) // 2  # one table port + one output port per gather group
    if groups < 1:
        raise ValueError(f"engram_gather needs hbm_ports >= 2 (table + output per group), got {p['hbm_ports']}")
    bpr = ceil_div(e, elems_per_beat(p))
    loops = {"eg.token": n, "eg.row_beat": n * h * bpr}
    busiest = n * ceil_div(h, groups) * bpr * float(p["gather_ii"])
    # the busiest group's table port also waits for its pseudo-channel
    stall = memory_cycles(n * ceil_div(h, groups) * bpr, 1, p)
    cycles = math.ceil(max(n * int(p["ii"]), busiest, stall)) + int(p["depth"])
    hbm = BEAT_BYTES * (ceil_div(n, 16) + ceil_div(h, 8) + 2 * n * h * bpr)
    return CycleEstimate(cycles, hbm, int(p["hbm_ports"]), loops, float(p["clock_hz"]))


def structure(p: Mapping[str, object]) -> Structure:
    """hls/src/engram_gather.cpp: per head a 3-term multiply-xor hash (32-bit multipliers) and a
    modulo; the gather itself is address generation and AXI ports."""
    return Structure(macs=3 * MAX_HEADS, mac_type="int32", ports=total_ports(p), comparators=MAX_HEADS)


DESIGN = Design(
    name="engram_gather",
    description="Engram hashed 2/3-gram memory: per-head multiply-xor hash mod table size + int16 row gather",
    header="hls/include/engram_gather.h",
    top="engram_gather",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (2, 4, 8, 16), "elem_type": ("int8", "int16", "fp32")},
)
