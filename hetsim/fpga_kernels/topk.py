"""Cycle model of the standalone streaming top-k kernel (``hls/include/topk.h``).

Per batch row of n float scores (16 per 512-bit beat) and runtime k (clamped to k_max):

- ``topk.beat``        = ceil(n/16): every beat is read and checked against the current worst
  on all 16 lanes in one cycle;
- ``topk.serial_beat`` = beats still filling (ceil(k/16)) + beats holding a candidate; each
  costs 16 ``topk.lane`` cycles;
- ``topk.replace``     = data dependent (hit_model), ``topk.rescan`` = replace + 1 (the rescan
  after the fill), each a log2(k_max)-cycle min tree;
- ``topk.drain``       = k.

cycles    = batch * (beats*ii + 16*serial_beats + rescans*log2(k_max) + k + depth)
hbm_bytes = batch * 64 * (beats + 2*ceil(k/16))        (ids + scores written)
"""

from __future__ import annotations

from typing import Mapping

from ._common import (BEAT_BYTES, CycleEstimate, Design, Memory, Structure, ceil_div, clamp_k, elems_per_beat,
                      expected_serial_beats, memory_cycles, rescan_cycles, scale_loops, stream_rate, topk_replacements, total_ports)

LANES = 16  # float32 scores per beat

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 1,
    "aux_ports": 1,
    "lanes": 1,
    "elem_type": "fp32",
    "elems_per_beat": None,
    "k_max": 2048,
    "hit_model": "random",
    "rescan_cycles": None,
    "depth": 40,
}
SHAPE_KEYS = ("batch", "num_items", "k")


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``topk`` invocation (see module docstring)."""
    batch, n, k = shape["batch"], shape["num_items"], shape["k"]
    kk = clamp_k(k, int(p["k_max"]))
    beats = ceil_div(n, elems_per_beat(p))  # HBM beats of scores
    groups = ceil_div(n, LANES)  # 16-lane compare groups: the pre-filter checks one per cycle
    serial = int(round(expected_serial_beats(n, kk, LANES, str(p["hit_model"]))))
    rep = topk_replacements(n, kk, str(p["hit_model"]))
    rescans = (1 if n >= kk else 0) + rep
    row = {
        "topk.beat": beats,
        "topk.serial_beat": serial,
        "topk.lane": LANES * serial,
        "topk.replace": rep,
        "topk.rescan": rescans,
        "topk.drain": kk,
    }
    stream = max(max(ceil_div(beats, stream_rate(p)), groups) * int(p["ii"]),
                 memory_cycles(beats, int(p["hbm_ports"]), p))
    cycles_row = stream + LANES * serial + rescans * rescan_cycles(p) + kk + int(p["depth"])
    bytes_row = BEAT_BYTES * (beats + 2 * ceil_div(kk, 16))
    return CycleEstimate(
        cycles=batch * cycles_row,
        hbm_bytes=batch * bytes_row,
        hbm_ports=total_ports(p),
        loops=scale_loops(row, batch),
        clock_hz=float(p["clock_hz"]),
    )


def structure(p: Mapping[str, object]) -> Structure:
    """hls/include/topk.h: KMAX register slots (score + id) and a 16-lane pre-filter."""
    return Structure(macs=0, mac_type=str(p["elem_type"]), memories=(Memory(64 + 32, int(p["k_max"]), 1, "reg"),),
                     ports=total_ports(p), comparators=int(p["k_max"]) + LANES)


DESIGN = Design(
    name="topk",
    description="register-based streaming top-k of float32 scores (16-lane beat pre-filter, K <= 2048)",
    header="hls/include/topk.h",
    top="topk",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)
