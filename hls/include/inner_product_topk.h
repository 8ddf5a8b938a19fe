// inner_product_topk.h -- dense retrieval / HMT memory search: top-k of q . x_i over a table
// of int16 vectors (kernel `inner_product_topk`).
//
//   score(i) = sum_d q_d * x_i,d   (int16 inputs, exact int64), i < num_items, d < dim <= 1024
//   result   = ids of the k best items under (score desc, index asc), KMAX = 256.
//
// HBM ports (512-bit, 32 int16 per beat; bpr = ceil(dim/32) beats per vector, zero padded):
//   gmem0 (read)  q     : per batch row, bpr beats.
//   gmem1 (read)  items : per batch row, num_items x bpr beats, starting at row*item_stride
//                         beats (item_stride = 0: every query searches the same table).
//   gmem2 (write) out   : per batch row, ceil(k/16) beats of int32 ids (slot order, -1 unfilled).
//   s_axilite: batch, num_items, dim, k, item_stride, control.
// Structure per batch row: q load ("ip.q_beat", bpr cycles), then a dataflow of a score stage
// reading one beat per cycle ("ip.item_beat", 32 int16 MACs/cycle; one score per item,
// "ip.item") and the top-k engine of topk.h (KMAX 256, rescan log2(256) = 8 cycles); drain k.
// Throughput: 1/bpr items per cycle (e.g. 0.25 item/cycle at dim 128), 64 B/cycle on gmem1.
#ifndef HETSIM_INNER_PRODUCT_TOPK_H
#define HETSIM_INNER_PRODUCT_TOPK_H

#include "topk.h"

#define IP_MAX_DIM 1024
#define IP_MAX_BPR (IP_MAX_DIM / HETSIM_I16_PER_BEAT)
#define IP_KMAX 256

extern "C" void inner_product_topk(const beat_t* q, const beat_t* items, beat_t* out, int batch, int num_items,
                                   int dim, int k, int item_stride);

#endif  // HETSIM_INNER_PRODUCT_TOPK_H
