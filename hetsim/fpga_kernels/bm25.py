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

from ._common import BEAT_BYTES, CycleEstimate, Design, ceil_div, clamp_k, topk_engine

LANES = 8
MAX_DOCS = 1 << 20

DEFAULTS = {
    "clock_hz": 300e6,
    "ii": 1,
    "hbm_ports": 3,
    "elems_per_beat": LANES,
    "k_max": 256,
    "hit_model": "random",
    "rescan_cycles": None,
    "term_overhead": 40,
    "depth": 60,
}
SHAPE_KEYS = ("num_postings", "num_docs", "num_terms", "k")


def posting_beats(num_postings: int, num_terms: int) -> int:
    """Beats of the packed postings when each term's postings fill the 8 lanes evenly."""
    if num_terms <= 0:
        return 0
    q, r = divmod(int(num_postings), int(num_terms))
    return r * ceil_div(q + 1, LANES) + (num_terms - r) * ceil_div(q, LANES)


def model(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """Cycle model of one ``bm25`` invocation (one query; see module docstring)."""
    npost, d, t, k = (shape[x] for x in SHAPE_KEYS)
    if d > MAX_DOCS:
        raise ValueError(f"bm25 keeps per-document state on chip: num_docs <= {MAX_DOCS}, got {d}")
    beats = int(shape["num_posting_beats"]) if "num_posting_beats" in shape else posting_beats(npost, t)
    kk = clamp_k(k, int(p["k_max"]))
    loops = {"bm25.doc_init": d, "bm25.term": t, "bm25.post_beat": beats, "bm25.doc_select": d}
    tk, stall = topk_engine(d, k, p)
    loops.update(tk)
    ii = int(p["ii"])
    cycles = d * ii + t * int(p["term_overhead"]) + beats * ii + d + stall + kk + int(p["depth"])
    hbm = BEAT_BYTES * (ceil_div(d, 16) + ceil_div(t, 4) + beats + 2 * ceil_div(kk, 16))
    return CycleEstimate(cycles, hbm, int(p["hbm_ports"]), loops, float(p["clock_hz"]))


DESIGN = Design(
    name="bm25",
    description="full BM25 (IDF, k1, b, length normalization) over a lane-partitioned inverted index + top-k",
    header="hls/include/bm25.h",
    top="bm25",
    defaults=DEFAULTS,
    shape_keys=SHAPE_KEYS,
    model=model,
)
