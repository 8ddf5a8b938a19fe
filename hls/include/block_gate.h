// block_gate.h -- SeerAttention-R-style block gating (kernel `block_gate`).
//
// The Prepare-Memory step keeps one pooled key per block of block_size tokens (the mean of the
// block's keys, int16; the trailing partial block has its own running pooled key), i.e. a
// compressed K cache of nblocks = ceil(num_keys / block_size) rows. Per query the kernel computes
//   score(b)  = q . pooled_b                      (int16 inputs, exact int64)
//   bitmap[b] = score(b) > threshold              (threshold mode; strict '>')
//   ids       = the kb best blocks under (score desc, block index asc),
//               kb = clamp(budget / block_size, 1, 256)          (token-budget mode)
// Both outputs are produced in one pass; the caller forces its own local/sink blocks.
//
// HBM ports (512-bit, 32 int16 per beat; bpr = ceil(head_dim/32)):
//   gmem0 (read)  q      : per batch row, bpr beats.
//   gmem1 (read)  pooled : per batch row, nblocks x bpr beats.
//   gmem2 (write) out    : per batch row, ceil(kb/16) beats of int32 block ids (slot order),
//                          then ceil(nblocks/512) bitmap beats (bit b%512 of beat b/512).
//   s_axilite: batch, num_keys, block_size, head_dim, budget, threshold (int64), control.
// Structure per row: q load ("bg.q_beat"), dataflow of the score stage (one beat per cycle,
// "bg.block_beat"; "bg.block" per block, which also sets the bitmap bit and writes a bitmap beat
// every 512 blocks, "bg.bitmap_beat") and the top-k engine (KMAX 256, rescan 8 cycles); drain kb.
// Throughput: 1/bpr blocks per cycle = block_size/bpr tokens per cycle (16 tokens/cycle at
// block 64, head_dim 128), 64 B/cycle on gmem1.
#ifndef HETSIM_BLOCK_GATE_H
#define HETSIM_BLOCK_GATE_H

#include "topk.h"

#define BG_MAX_DIM 256
#define BG_MAX_BPR (BG_MAX_DIM / HETSIM_I16_PER_BEAT)
#define BG_KMAX 256

// Budget in blocks for a token budget (same rule as the Python model).
inline int bg_budget_blocks(int budget, int block_size) {
    int kb = budget / block_size;
    return kb < 1 ? 1 : (kb > BG_KMAX ? BG_KMAX : kb);
}

extern "C" void block_gate(const beat_t* q, const beat_t* pooled, beat_t* out, int batch, int num_keys,
                           int block_size, int head_dim, int budget, long long threshold);

#endif  // HETSIM_BLOCK_GATE_H
