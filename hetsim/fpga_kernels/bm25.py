"""Cycle model of the fused BM25 scorer (``hls/include/bm25.h``).

Shape: num_postings P, num_docs D, num_terms T, k. The packed layout puts a term's postings
into beats of 8 lane-partitioned slots (doc % 8 = lane); a term with n_t postings spread evenly
over the lanes takes ceil(n_t/8) beats. The model splits P evenly over the T terms
(q = P // T, the first P % T terms get one more) unless the caller passes the exact beat count
as shape key ``num_posting_beats`` (skewed corpora need more beats than P/8).

- ``bm25.doc_init`` = D, ``bm25.term`` = T (each + term_overhead cycles for meta read, log and
  the accumulate-pipeline drain), ``bm25.post_beat`` = beats, ``bm25.doc_select`` = D
- top-k engine over D items

cycles    = D*ii + T*term_overhead + beats*ii + D + rescans*log2(k_max) + k + depth
hbm_bytes = 64*(ceil(D/16) + ceil(T/4) + beats + 2*ceil(k/16))
"""

from __future__ import annotations

from typing import Mapping

from ._common import (BEAT_BYTES, CycleEstimate, Design, Memory, Structure, ceil_div, clamp_k, elem_bytes, memory_cycles, stream_rate,
                      topk_engine, total_ports)

LANES = 8
MAX_DOCS = 1 << 20

DEFAULTS = {
    "clock_hz": 300e6,
    "channel_Bps": None,
    "ii": 1,
    "hbm_ports": 1,
    "aux_ports": 2,
    "lanes": 1,
    "elem_type": "int32",
    "elems_per_beat": None,
    "k_max": 256,
    "hit_model": "random",
    "rescan_cycles": None,
    "term_overhead": 40,
    "depth": 60,
}
SHAPE_KEYS = ("num_postings", "num_docs", "num_terms", "k")


def posting_beats(num_postings: int, num_terms: int, lanes: int = LANES) -> int:
    """Beats of the packed postings when each term's postings fill the 8 lanes evenly."""
    if num_terms <= 0:
        return 0
    q, r = divmod(int(num_postings), int(num_terms))
    return r * ceil_div(q + 1, lanes) + (num_terms - r) * ceil_div(q, lanes)


def posting_lanes(p: Mapping[str, object]) -> int:
    """Postings per 64 B beat: each is a (doc id, tf) pair of ``elem_type`` (int32: 8 per beat)."""
    e = p.get("elems_per_beat")
    return int(e) if e is not None else max(1, BEAT_BYTES // (2 * elem_bytes(p)))


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``bm25`` invocation (one query; see module docstring)."""
    npost, d, t, k = (shape[x] for x in SHAPE_KEYS)
    if d > MAX_DOCS:
        raise ValueError(f"bm25 keeps per-document state on chip: num_docs <= {MAX_DOCS}, got {d}")
    beats = int(shape["num_posting_beats"]) if "num_posting_beats" in shape else posting_beats(npost, t, posting_lanes(p))
    kk = clamp_k(k, int(p["k_max"]))
    loops = {"bm25.doc_init": d, "bm25.term": t, "bm25.post_beat": beats, "bm25.doc_select": d}
    tk, stall = topk_engine(d, k, p)
    loops.update(tk)
    ii = int(p["ii"])
    cycles = d * ii + t * int(p["term_overhead"]) + max(ceil_div(beats, stream_rate(p)) * ii, memory_cycles(beats, int(p["hbm_ports"]), p)) + d + stall + kk + int(p["depth"])
    hbm = BEAT_BYTES * (ceil_div(d, 16) + ceil_div(t, 4) + beats + 2 * ceil_div(kk, 16))
    return CycleEstimate(cycles, hbm, total_ports(p), loops, float(p["clock_hz"]))


def structure(p: Mapping[str, object]) -> Structure:
    """hls/src/bm25.cpp: per posting lane a BM25 term update (fp mul, div, add, length
    normalisation ~ 4 fp ops), per-doc score and length in URAM, the 256-slot top-k."""
    lanes = posting_lanes(p) * int(p["lanes"])
    return Structure(macs=0, mac_type="fp32", fp_ops=4 * lanes,
                     memories=(Memory(32, MAX_DOCS, 2, "uram"), Memory(64 + 32, int(p["k_max"]), 1, "reg")),
                     ports=total_ports(p), comparators=int(p["k_max"]))


DESIGN = Design(
    name="bm25",
    description="full BM25 (IDF, k1, b, length normalization) over a lane-partitioned inverted index + top-k",
    header="hls/include/bm25.h",
    top="bm25",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
    structure=structure,
    sweep={"hbm_ports": (1, 2, 4), "lanes": (1, 2, 4), "elem_type": ("int16", "int32")},
)
