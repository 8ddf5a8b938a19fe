// inner_product_topk.cpp -- top function (interface: include/inner_product_topk.h).
#include "inner_product_topk.h"

typedef long long ip_score_t;

static void ip_score(const beat_t* items, short q[IP_MAX_BPR][HETSIM_I16_PER_BEAT], int bpr, int dim,
                     int num_items, hls::stream<ScoredItem<ip_score_t> >& out) {
    long long acc = 0;
    int c = 0, i = 0;
item_beats:
    for (long it = 0; it < (long)num_items * bpr; ++it) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("ip.item_beat");
        short x[HETSIM_I16_PER_BEAT];
        unpack16(items[it], x);
#if HETSIM_INJECT_BUG == HETSIM_BUG_INNER_PRODUCT_TOPK
        if (!(c == bpr - 1 && dim % HETSIM_I16_PER_BEAT != 0))  // BUG: drops the last partial beat
#endif
            acc += dot32(q[c], x);
        if (c == bpr - 1) {
            HETSIM_COUNT("ip.item");
            ScoredItem<ip_score_t> s;
            s.score = acc;
            s.index = i;
            out.write(s);
            acc = 0;
            c = 0;
            ++i;
        } else {
            ++c;
        }
    }
}

static void ip_score_and_select(const beat_t* items, short q[IP_MAX_BPR][HETSIM_I16_PER_BEAT], int bpr, int dim,
                                int num_items, TopK<IP_KMAX, ip_score_t>& t) {
#pragma HLS dataflow
    hls::stream<ScoredItem<ip_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 256
    ip_score(items, q, bpr, dim, num_items, fifo);
    topk_select_stream(fifo, num_items, t);
}

extern "C" void inner_product_topk(const beat_t* q, const beat_t* items, beat_t* out, int batch, int num_items,
                                   int dim, int k, int item_stride) {
#pragma HLS INTERFACE m_axi port = q offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = items offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = num_items
#pragma HLS INTERFACE s_axilite port = dim
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = item_stride
#pragma HLS INTERFACE s_axilite port = return
    static short qv[IP_MAX_BPR][HETSIM_I16_PER_BEAT];
#pragma HLS array_partition variable = qv dim = 2 complete
    static TopK<IP_KMAX, ip_score_t> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete
    const int bpr = ceil_div(dim, HETSIM_I16_PER_BEAT);
rows:
    for (int b = 0; b < batch; ++b) {
        topk_init(t, k);
    load_q:
        for (int c = 0; c < bpr; ++c) {
#pragma HLS pipeline II = 1
            HETSIM_COUNT("ip.q_beat");
            unpack16(q[(long)b * bpr + c], qv[c]);
        }
        ip_score_and_select(items + (long)b * item_stride, qv, bpr, dim, num_items, t);
        topk_drain<false>(t, out + (long)b * ceil_div(t.k, 16), out);
    }
}
