// bm25.h -- full Okapi BM25 over a lane-partitioned inverted index, fused with top-k
// (kernel `bm25`). Unlike the study's kernel it drops no postings and normalizes by length.
//
//   score(d) = sum_{t in query} idf(t) * tf(t,d) (k1 + 1) / (tf(t,d) + k1 (1 - b + b |d| / avgdl))
//   idf(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))        (non-negative variant)
// N = num_docs, |d| = document length in tokens, avgdl = mean |d| (a corpus statistic passed by
// the host), query terms distinct (the host merges repeated query tokens). Float32 arithmetic;
// the testbench checks it against a double-precision reference within 1e-4 relative.
// Top-k over ALL documents under (score desc, doc id asc); documents without a query term
// score 0 and fill the set (lowest ids first) when fewer than k documents match.
//
// Packed inverted-index layout (built by the host; see tb_bm25.cpp pack_index()):
//   postings: 512-bit beats of 8 slots x 64 bit; slot j = [31:0] doc id, [47:32] tf,
//             [48] valid. Slot j only ever holds a document with doc % 8 == j, so the 8 lanes
//             update 8 disjoint accumulator banks each cycle (no conflicts, no dropped tokens:
//             the study's packer instead dropped every token with id % 16 != doc % 16).
//             A term's postings take max_j(count of its docs in lane j) beats; empty slots
//             have valid = 0.
//   meta:     per query term 128 bits: [31:0] first beat, [63:32] number of beats,
//             [95:64] df (postings count), 4 terms per beat.
//   doc_len:  num_docs uint32, 16 per beat.
// HBM ports: gmem0 (read) meta + doc_len, gmem1 (read) postings, gmem2 (write) out =
//            ceil(k/16) beats of int32 doc ids then ceil(k/16) beats of float32 scores.
//   s_axilite: num_docs (<= BM25_MAX_DOCS), num_terms, k (<= 256), k1, b, avgdl, control.
// Structure: (1) "bm25.doc_init", 1 doc/cycle: length norm k1(1-b+b|d|/avgdl) into 8 on-chip
//   banks, accumulators cleared; (2) per term ("bm25.term"): meta read + IDF (one log, a
//   pipeline of ~term_overhead cycles, not overlapped), then "bm25.post_beat": one 8-slot beat
//   per cycle, 8 float multiply-divide-add lanes, II=1 (docs are distinct within a term so the
//   accumulator read-modify-write has no loop-carried dependence; the pipeline drains between
//   terms); (3) "bm25.doc_select": 1 doc/cycle into the top-k engine (KMAX 256, rescan 8).
// Throughput: 8 postings/cycle (2.4 G postings/s at 300 MHz, 64 B/cycle on gmem1) + 2 cycles
//   per document (init + select) + per-term overhead. On chip: 2 x 4 B x BM25_MAX_DOCS (URAM).
#ifndef HETSIM_BM25_H
#define HETSIM_BM25_H

#include "topk.h"

#define BM25_LANES 8
#define BM25_MAX_DOCS (1 << 20)
#define BM25_KMAX 256

extern "C" void bm25(const beat_t* meta, const beat_t* doc_len, const beat_t* postings, beat_t* out, int num_docs,
                     int num_terms, int k, float k1, float b, float avgdl);

#endif  // HETSIM_BM25_H
