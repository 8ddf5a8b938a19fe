"""Cycle models of the DSA lightning indexer (``hls/include/dsa_indexer.h``).

Per batch row, with bpk = ceil(head_dim/32) beats per key and H = num_heads:

- ``dsa.q_beat`` = H*bpk, ``dsa.w_beat`` = ceil(H/32)   (query and head-weight load)
- ``dsa.key_beat`` = num_keys*bpk                      (one beat per cycle, 2048 MACs)
- ``dsa.key`` = num_keys                               (ReLU + weighted sum, one score each)
- fused only: top-k engine over num_keys items (``topk.replace/rescan/drain``)

Fused ``dsa_indexer`` (score stage and top-k stage overlap in a dataflow region):
  cycles    = batch*(q_beat + w_beat + max(key_beat*ii, num_keys + rescans*log2(k_max)) + k + depth)
  hbm_bytes = batch*64*(q_beat + w_beat + key_beat + ceil(k/16))
Scores only ``dsa_indexer_score``:
  cycles    = batch*(q_beat + w_beat + key_beat*ii + depth)
  hbm_bytes = batch*64*(q_beat + w_beat + key_beat + ceil(num_keys/8))   (int64 scores)
"""

from __future__ import annotations

from typing import Mapping

from ._common import (BEAT_BYTES, CycleEstimate, Design, Memory, Structure, ceil_div, clamp_k, elem_bytes,
                      elems_per_beat, memory_cycles, scale_loops, stream_rate, topk_engine, total_ports)

MAX_HEADS = 64
MAX_DIM = 128

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 1,
    "aux_ports": 2,
    "lanes": 1,
    "elem_type": "int16",
    "elems_per_beat": None,
    "k_max": 2048,
    "hit_model": "random",
    "rescan_cycles": None,
    "depth": 60,
}
SHAPE_KEYS_SCORE = ("batch", "num_keys", "num_heads", "head_dim")
SHAPE_KEYS = SHAPE_KEYS_SCORE + ("k",)


def _score_loops(shape: Mapping[str, int], p: Mapping[str, object]) -> dict[str, int]:
    h, dim, n = shape["num_heads"], shape["head_dim"], shape["num_keys"]
    if h > MAX_HEADS or dim > MAX_DIM:
        raise ValueError(f"dsa_indexer supports num_heads <= {MAX_HEADS} and head_dim <= {MAX_DIM}, got {h}, {dim}")
    epb = elems_per_beat(p)
    bpk = ceil_div(dim, epb)
    # the head weights stay int16 (32 per beat) whatever the q/k element type
    return {"dsa.q_beat": h * bpk, "dsa.w_beat": ceil_div(h, 32), "dsa.key_beat": n * bpk, "dsa.key": n}


def _load(row: Mapping[str, int], p: Mapping[str, object]) -> int:
    """q and head-weight load: one beat per cycle on one port, or the channel's rate."""
    return max(row["dsa.q_beat"], memory_cycles(row["dsa.q_beat"], 1, p)) + \
        max(row["dsa.w_beat"], memory_cycles(row["dsa.w_beat"], 1, p))


def model_fused(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one fused ``dsa_indexer`` invocation (scoring + top-k)."""
    batch, n = shape["batch"], shape["num_keys"]
    row = _score_loops(shape, p)
    tk, stall = topk_engine(n, shape["k"], p)
    row.update(tk)
    kk = clamp_k(shape["k"], int(p["k_max"]))
    stream = max(ceil_div(row["dsa.key_beat"], stream_rate(p)) * int(p["ii"]), n + stall,
                 memory_cycles(row["dsa.key_beat"], int(p["hbm_ports"]), p))
    cycles_row = _load(row, p) + stream + kk + int(p["depth"])
    bytes_row = BEAT_BYTES * (row["dsa.q_beat"] + row["dsa.w_beat"] + row["dsa.key_beat"] + ceil_div(kk, 16))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p), scale_loops(row, batch),
                         float(p["clock_hz"]))


def model_score(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``dsa_indexer_score`` invocation (int64 scores written, no top-k)."""
    batch, n = shape["batch"], shape["num_keys"]
    row = _score_loops(shape, p)
    stream = max(ceil_div(row["dsa.key_beat"], stream_rate(p)) * int(p["ii"]),
                 memory_cycles(row["dsa.key_beat"], int(p["hbm_ports"]), p))
    cycles_row = _load(row, p) + stream + int(p["depth"])
    bytes_row = BEAT_BYTES * (row["dsa.q_beat"] + row["dsa.w_beat"] + row["dsa.key_beat"] + ceil_div(n, 8))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p), scale_loops(row, batch),
                         float(p["clock_hz"]))


def structure(p: Mapping[str, object], topk: bool = True) -> Structure:
    """One unit of hls/src/dsa_indexer.cpp: 64 heads x (beat elements) MACs per lane, q/w in
    registers (arrays fully partitioned), the KMAX-slot register top-k when fused."""
    eb = 8 * elem_bytes(p)
    lanes = int(p["lanes"])
    mems = [Memory(eb, MAX_HEADS * MAX_DIM, 1, "reg"), Memory(16, MAX_HEADS, 1, "reg")]
    cmp = 0
    if topk:
        mems.append(Memory(64 + 32, int(p["k_max"]), 1, "reg"))
        cmp = int(p["k_max"])
    return Structure(macs=MAX_HEADS * elems_per_beat(p) * lanes, mac_type=str(p["elem_type"]),
                     memories=tuple(mems), ports=total_ports(p), comparators=cmp)


DESIGN = Design(
    name="dsa_indexer",
    description="DSA lightning indexer: sum_h w_h ReLU(q_h . k_s), 64 heads x 128 dims int16, fused top-k (K <= 2048)",
    header="hls/include/dsa_indexer.h",
    top="dsa_indexer",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model_fused,
    structure=structure,
    sweep={"hbm_ports": (1, 2, 4), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)

DESIGN_SCORE = Design(
    name="dsa_indexer_score",
    description="DSA lightning indexer scores only (int64 per key written to HBM)",
    header="hls/include/dsa_indexer.h",
    top="dsa_indexer_score",
    defaults={k: v for k, v in DEFAULTS.items() if k not in ("k_max", "hit_model", "rescan_cycles")},
    shape_keys=SHAPE_KEYS_SCORE,
    model=model_score,
    structure=lambda p: structure(p, topk=False),
    sweep={"hbm_ports": (1, 2, 4), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp16", "fp32")},
)
