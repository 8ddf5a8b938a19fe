// dsa_indexer.h -- DeepSeek Sparse Attention "lightning indexer": weighted ReLU multi-head
// scoring of index keys, fused with top-k (kernel `dsa_indexer`), or scores only
// (kernel `dsa_indexer_score`).
//
//   score(s) = sum_h w_h * ReLU(q_h . k_s),  h < num_heads <= 64, head_dim <= 128, s < num_keys
//
// Numbers: q, k, w are int16 (w is a fixed-point weight whose scale is common to all keys,
// so it does not change the ranking and is kept as the raw integer); q.k is exact in 40 bits,
// the weighted sum exact in 64 bits. Integer path: results are bit-exact.
//
// HBM ports (all 512-bit, one beat = 32 int16):
//   gmem0 (read)  qw   : per batch row, num_heads x bpk beats of q (head h, dims 32c..32c+31
//                        in beat h*bpk+c, zero padded), then ceil(num_heads/32) beats of w;
//                        bpk = ceil(head_dim/32) beats per key.
//   gmem1 (read)  keys : per batch row, num_keys x bpk beats (key s in beats s*bpk ..).
//   gmem2 (write) out  : dsa_indexer: per row ceil(k/16) beats of int32 ids (slot order,
//                        -1 = unfilled); dsa_indexer_score: per row ceil(num_keys/8) beats of
//                        int64 scores.
//   s_axilite: batch, num_keys, num_heads, head_dim, k, control.
// Structure per batch row: load q/w ("dsa.q_beat", "dsa.w_beat", II=1), then a dataflow of
//   score stage: one key beat per cycle ("dsa.key_beat", II=1), 64 heads x 32 lanes =
//                2048 int16 MACs/cycle (2048 DSP48E2); after the last beat of a key the
//                ReLU + weighted sum emits one score ("dsa.key") into a FIFO;
//   top-k stage: engine of topk.h with KMAX = 2048 (one item per cycle + rescans);
// then the drain (k cycles).
// Throughput: 1/bpk keys per cycle = 0.25 key/cycle at head_dim 128 (75 Mkeys/s at 300 MHz),
// key stream 64 B/cycle = 19.2 GB/s on one port; the top-k stage keeps up unless rescans
// (log2(2048) = 11 cycles each) exceed (bpk-1) cycles per key on average.
#ifndef HETSIM_DSA_INDEXER_H
#define HETSIM_DSA_INDEXER_H

#include "topk.h"

#define DSA_MAX_HEADS 64
#define DSA_MAX_DIM 128
#define DSA_MAX_BPK (DSA_MAX_DIM / HETSIM_I16_PER_BEAT)
#define DSA_KMAX 2048

extern "C" void dsa_indexer(const beat_t* qw, const beat_t* keys, beat_t* out, int batch, int num_keys,
                            int num_heads, int head_dim, int k);
extern "C" void dsa_indexer_score(const beat_t* qw, const beat_t* keys, beat_t* out, int batch,
                                  int num_keys, int num_heads, int head_dim);

// The score path for another element type T of q and k (signed char = int8, short = int16, int =
// any 4-byte type): EPB = 64 / sizeof(T) elements per beat, bpk = ceil(head_dim / EPB); the
// weights stay int16. dsa_indexer_score is dsa_indexer_score_t<short>.
template <typename T>
void dsa_indexer_score_t(const beat_t* qw, const beat_t* keys, beat_t* out, int batch, int num_keys, int num_heads,
                         int head_dim);

#endif  // HETSIM_DSA_INDEXER_H
