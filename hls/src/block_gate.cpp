// block_gate.cpp -- top function (interface: include/block_gate.h).
#include "block_gate.h"

typedef long long bg_score_t;

static void bg_score(const beat_t* pooled, short q[BG_MAX_BPR][HETSIM_I16_PER_BEAT], int bpr, int nblocks,
                     long long threshold, beat_t* bitmap, hls::stream<ScoredItem<bg_score_t> >& out) {
    long long acc = 0;
    int c = 0, blk = 0;
    beat_t bits = 0;
block_beats:
    for (long it = 0; it < (long)nblocks * bpr; ++it) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("bg.block_beat");
        short x[HETSIM_I16_PER_BEAT];
        unpack16(pooled[it], x);
        acc += dot32(q[c], x);
        if (c == bpr - 1) {
            HETSIM_COUNT("bg.block");
#if HETSIM_INJECT_BUG == HETSIM_BUG_BLOCK_GATE
            const bool sel = acc >= threshold;  // BUG: >= instead of >
#else
            const bool sel = acc > threshold;
#endif
            bits[blk % 512] = sel;
            if (blk % 512 == 511 || blk == nblocks - 1) {
                HETSIM_COUNT("bg.bitmap_beat");
                bitmap[blk / 512] = bits;
                bits = 0;
            }
            ScoredItem<bg_score_t> s;
            s.score = acc;
            s.index = blk;
            out.write(s);
            acc = 0;
            c = 0;
            ++blk;
        } else {
            ++c;
        }
    }
}

static void bg_score_and_select(const beat_t* pooled, short q[BG_MAX_BPR][HETSIM_I16_PER_BEAT], int bpr,
                                int nblocks, long long threshold, beat_t* bitmap, TopK<BG_KMAX, bg_score_t>& t) {
#pragma HLS dataflow
    hls::stream<ScoredItem<bg_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 256
    bg_score(pooled, q, bpr, nblocks, threshold, bitmap, fifo);
    topk_select_stream(fifo, nblocks, t);
}

extern "C" void block_gate(const beat_t* q, const beat_t* pooled, beat_t* out, int batch, int num_keys,
                           int block_size, int head_dim, int budget, long long threshold) {
#pragma HLS INTERFACE m_axi port = q offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = pooled offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = num_keys
#pragma HLS INTERFACE s_axilite port = block_size
#pragma HLS INTERFACE s_axilite port = head_dim
#pragma HLS INTERFACE s_axilite port = budget
#pragma HLS INTERFACE s_axilite port = threshold
#pragma HLS INTERFACE s_axilite port = return
    static short qv[BG_MAX_BPR][HETSIM_I16_PER_BEAT];
#pragma HLS array_partition variable = qv dim = 2 complete
    static TopK<BG_KMAX, bg_score_t> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete
    const int bpr = ceil_div(head_dim, HETSIM_I16_PER_BEAT);
    const int nblocks = ceil_div(num_keys, block_size);
    const int kb = bg_budget_blocks(budget, block_size);
    const int ob = ceil_div(kb, 16), mb = ceil_div(nblocks, 512);
rows:
    for (int b = 0; b < batch; ++b) {
        topk_init(t, kb);
    load_q:
        for (int c = 0; c < bpr; ++c) {
#pragma HLS pipeline II = 1
            HETSIM_COUNT("bg.q_beat");
            unpack16(q[(long)b * bpr + c], qv[c]);
        }
        beat_t* row_out = out + (long)b * (ob + mb);
        bg_score_and_select(pooled + (long)b * nblocks * bpr, qv, bpr, nblocks, threshold, row_out + ob, t);
        topk_drain<false>(t, row_out, row_out);
    }
}
