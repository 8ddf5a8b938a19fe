// engram_gather.h -- Engram-style hashed n-gram memory: n-gram hashing + embedding-row gather
// (kernel `engram_gather`).
//
// For token position t (tokens before the sequence start read as pad_id) and hash head h:
//   order   n_h = 2 if 2h < num_heads else 3        (first half bigram heads, rest trigram)
//   mix     = (x_t * M0) ^ (x_{t-1} * M1) ^ [n_h == 3] (x_{t-2} * M2) ^ ((h + 1) * SALT)
//             in uint32 arithmetic (wrap-around), M0..SALT fixed odd constants below
//   row     = mix % rows_h                     (rows_h: table size of head h, e.g. a prime)
//   out     = table_h[row]                     (row_elems int16, zero padded to bpr beats)
// Integer path: exact.
//
// HBM ports (512-bit; bpr = ceil(row_elems/32) beats per row):
//   gmem0 (read)  tokens : num_tokens int32 ids, 16 per beat.
//   gmem0 (read)  meta   : per head 64 bits: [31:0] rows_h, [63:32] first beat of table h
//                          inside its group buffer; 8 heads per beat.
//   gmem1..4 (read)  tab0..tab3 : head h's table lives in tab[h % 4] (one HBM pseudo-channel
//                          per group, so 4 random row fetches proceed in parallel).
//   gmem5..8 (write) out0..out3 : group g writes [token][j][bpr beats] for heads h = g + 4j.
//   s_axilite: num_tokens, num_heads (<= 16), row_elems (<= 256), pad_id, control.
// Structure: a hash stage ("eg.token", 1 token/cycle: 3-token shift register, num_heads
// multiply-xor + modulo units in parallel, pipelined) feeding 4 gather stages, one per group
// (dataflow), each copying one row beat per cycle ("eg.row_beat", summed over groups) from a
// random row address to its output port.
// Throughput: a group handles ceil(num_heads/4) heads x bpr beats per token, so the kernel
// takes max(1, ceil(num_heads/4) * bpr) cycles per token (8 at 16 heads x 64 elems) if the
// HBM sustains one random 64 B beat per cycle per port (needs ~32 outstanding reads; random
// short bursts make this optimistic, see gather_ii in the Python model).
#ifndef HETSIM_ENGRAM_GATHER_H
#define HETSIM_ENGRAM_GATHER_H

#include "hetsim_hls.h"

#define EG_MAX_HEADS 16
#define EG_GROUPS 4
#define EG_MAX_ROW 256
#define EG_M0 0x9E3779B1u
#define EG_M1 0x85EBCA77u
#define EG_M2 0xC2B2AE3Du
#define EG_SALT 0x27D4EB2Fu

// Reference hash (shared with the testbench so both sides agree on the definition above;
// the testbench also re-derives it independently).
inline unsigned eg_mix(unsigned x0, unsigned x1, unsigned x2, int h, int num_heads) {
#pragma HLS inline
    unsigned m = (x0 * EG_M0) ^ (x1 * EG_M1) ^ (unsigned(h + 1) * EG_SALT);
    if (2 * h >= num_heads) m ^= x2 * EG_M2;
    return m;
}

extern "C" void engram_gather(const beat_t* tokens, const beat_t* meta, const beat_t* tab0, const beat_t* tab1,
                              const beat_t* tab2, const beat_t* tab3, beat_t* out0, beat_t* out1, beat_t* out2,
                              beat_t* out3, int num_tokens, int num_heads, int row_elems, int pad_id);

#endif  // HETSIM_ENGRAM_GATHER_H
