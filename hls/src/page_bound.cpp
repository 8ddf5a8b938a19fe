// page_bound.cpp -- top function (interface: include/page_bound.h).
#include "page_bound.h"

typedef long long pb_score_t;

static void pb_bound(const beat_t* kmin, const beat_t* kmax, short q[PB_MAX_BPR][HETSIM_I16_PER_BEAT], int bpr,
                     int num_pages, hls::stream<ScoredItem<pb_score_t> >& out) {
    long long acc = 0;
    int c = 0, p = 0;
page_beats:
    for (long it = 0; it < (long)num_pages * bpr; ++it) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("pb.page_beat");
        short lo[HETSIM_I16_PER_BEAT], hi[HETSIM_I16_PER_BEAT];
        unpack16(kmin[it], lo);
        unpack16(kmax[it], hi);
        for (int j = 0; j < HETSIM_I16_PER_BEAT; ++j) {
#pragma HLS unroll
            const int a = int(q[c][j]) * lo[j], b = int(q[c][j]) * hi[j];
#if HETSIM_INJECT_BUG == HETSIM_BUG_PAGE_BOUND
            acc += b;  // BUG: ignores the kmin branch (wrong for negative q_d)
            (void)a;
#else
            acc += a > b ? a : b;
#endif
        }
        if (c == bpr - 1) {
            HETSIM_COUNT("pb.page");
            ScoredItem<pb_score_t> s;
            s.score = acc;
            s.index = p;
            out.write(s);
            acc = 0;
            c = 0;
            ++p;
        } else {
            ++c;
        }
    }
}

static void pb_bound_and_select(const beat_t* kmin, const beat_t* kmax, short q[PB_MAX_BPR][HETSIM_I16_PER_BEAT],
                                int bpr, int num_pages, TopK<PB_KMAX, pb_score_t>& t) {
#pragma HLS dataflow
    hls::stream<ScoredItem<pb_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 256
    pb_bound(kmin, kmax, q, bpr, num_pages, fifo);
    topk_select_stream(fifo, num_pages, t);
}

extern "C" void page_bound(const beat_t* q, const beat_t* kmin, const beat_t* kmax, beat_t* out, int batch,
                           int num_pages, int head_dim, int k) {
#pragma HLS INTERFACE m_axi port = q offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = kmin offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = kmax offset = slave bundle = gmem2 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem3
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = num_pages
#pragma HLS INTERFACE s_axilite port = head_dim
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = return
    static short qv[PB_MAX_BPR][HETSIM_I16_PER_BEAT];
#pragma HLS array_partition variable = qv dim = 2 complete
    static TopK<PB_KMAX, pb_score_t> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete
    const int bpr = ceil_div(head_dim, HETSIM_I16_PER_BEAT);
rows:
    for (int b = 0; b < batch; ++b) {
        topk_init(t, k);
    load_q:
        for (int c = 0; c < bpr; ++c) {
#pragma HLS pipeline II = 1
            HETSIM_COUNT("pb.q_beat");
            unpack16(q[(long)b * bpr + c], qv[c]);
        }
        const long off = (long)b * num_pages * bpr;
        pb_bound_and_select(kmin + off, kmax + off, qv, bpr, num_pages, t);
        topk_drain<false>(t, out + (long)b * ceil_div(t.k, 16), out);
    }
}
