// page_bound.h -- Quest / LServe page selection from per-page key bounds (kernel `page_bound`).
//
//   bound(p) = sum_d max(q_d * kmin_p,d , q_d * kmax_p,d)    (int16 inputs, exact int64)
// an upper bound of q . k over every key k of page p (kmin/kmax = element-wise min/max of the
// page's keys, built by the Prepare-Memory step). Result: ids of the k pages with the highest
// bound under (bound desc, page index asc), KMAX = 512.
//
// HBM ports (512-bit, 32 int16 per beat; bpr = ceil(head_dim/32), zero padded):
//   gmem0 (read)  q    : per batch row, bpr beats.
//   gmem1 (read)  kmin : per batch row, num_pages x bpr beats.
//   gmem2 (read)  kmax : per batch row, num_pages x bpr beats (read in lock step with kmin).
//   gmem3 (write) out  : per batch row, ceil(k/16) beats of int32 page ids (slot order).
//   s_axilite: batch, num_pages, head_dim, k, control.
// Structure per row: q load ("pb.q_beat"), dataflow of the bound stage (one kmin beat + one kmax
// beat per cycle, "pb.page_beat", 64 multipliers + 32 max + adder tree; "pb.page" per page) and
// the top-k engine (rescan log2(512) = 9 cycles); drain k.
// Throughput: 1/bpr pages per cycle (0.25 page/cycle at head_dim 128 = 2 x 64 B/cycle). Reads
// 2 x head_dim x 2 B per page instead of page_size x head_dim x 2 B of keys.
#ifndef HETSIM_PAGE_BOUND_H
#define HETSIM_PAGE_BOUND_H

#include "topk.h"

#define PB_MAX_DIM 256
#define PB_MAX_BPR (PB_MAX_DIM / HETSIM_I16_PER_BEAT)
#define PB_KMAX 512

extern "C" void page_bound(const beat_t* q, const beat_t* kmin, const beat_t* kmax, beat_t* out, int batch,
                           int num_pages, int head_dim, int k);

#endif  // HETSIM_PAGE_BOUND_H
