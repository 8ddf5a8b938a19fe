// bm25.cpp -- top function (interface: include/bm25.h).
#include "bm25.h"

#include <cmath>

#define BM25_BANK (BM25_MAX_DOCS / BM25_LANES)

extern "C" void bm25(const beat_t* meta, const beat_t* doc_len, const beat_t* postings, beat_t* out, int num_docs,
                     int num_terms, int k, float k1, float b, float avgdl) {
#pragma HLS INTERFACE m_axi port = meta offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = doc_len offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = postings offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = num_docs
#pragma HLS INTERFACE s_axilite port = num_terms
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = k1
#pragma HLS INTERFACE s_axilite port = b
#pragma HLS INTERFACE s_axilite port = avgdl
#pragma HLS INTERFACE s_axilite port = return
    // Per-document state in 8 banks (doc d lives in bank d % 8 at d / 8).
    static float acc[BM25_LANES][BM25_BANK];
    static float norm[BM25_LANES][BM25_BANK];
#pragma HLS array_partition variable = acc dim = 1 complete
#pragma HLS array_partition variable = norm dim = 1 complete
#pragma HLS bind_storage variable = acc type = ram_2p impl = uram
#pragma HLS bind_storage variable = norm type = ram_2p impl = uram
    static TopK<BM25_KMAX, float> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete

    const float inv_avgdl = 1.0f / avgdl;
    beat_t lens = 0;
doc_init:
    for (int d = 0; d < num_docs; ++d) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("bm25.doc_init");
        if (d % 16 == 0) lens = doc_len[d / 16];
        const float len = float(lane_u<32>(lens, d % 16).to_uint());
#if HETSIM_INJECT_BUG == HETSIM_BUG_BM25
        norm[d % BM25_LANES][d / BM25_LANES] = k1;  // BUG: length normalization dropped (b ignored)
        (void)inv_avgdl;
        (void)len;
#else
        norm[d % BM25_LANES][d / BM25_LANES] = k1 * (1.0f - b + b * len * inv_avgdl);
#endif
        acc[d % BM25_LANES][d / BM25_LANES] = 0.0f;
    }

    const float n = float(num_docs);
terms:
    for (int t_i = 0; t_i < num_terms; ++t_i) {
        HETSIM_COUNT("bm25.term");
        const beat_t m = meta[t_i / 4];
        const ap_uint<128> word = m.range(128 * (t_i % 4) + 127, 128 * (t_i % 4));
        const int first = word.range(31, 0).to_int();
        const int nbeats = word.range(63, 32).to_int();
        const float df = float(word.range(95, 64).to_uint());
        const float idf = std::log(1.0f + (n - df + 0.5f) / (df + 0.5f));
        const float idf_k1p1 = idf * (k1 + 1.0f);
    post_beats:
        for (int i = 0; i < nbeats; ++i) {
#pragma HLS pipeline II = 1
#pragma HLS dependence variable = acc inter false
            HETSIM_COUNT("bm25.post_beat");
            const beat_t p = postings[first + i];
            for (int j = 0; j < BM25_LANES; ++j) {
#pragma HLS unroll
                const ap_uint<64> slot = p.range(64 * j + 63, 64 * j);
                if (slot[48]) {
                    const int doc = slot.range(31, 0).to_int();
                    const float tf = float(slot.range(47, 32).to_uint());
#ifndef __SYNTHESIS__
                    if (doc % BM25_LANES != j || doc >= num_docs) {
                        std::fprintf(stderr, "bm25: slot %d holds doc %d (layout violated)\n", j, doc);
                        std::abort();
                    }
#endif
                    acc[j][doc / BM25_LANES] += idf_k1p1 * tf / (tf + norm[j][doc / BM25_LANES]);
                }
            }
        }
    }

    topk_init(t, k);
doc_select:
    for (int d = 0; d < num_docs; ++d) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("bm25.doc_select");
        topk_push(t, acc[d % BM25_LANES][d / BM25_LANES], d);
    }
    const int ob = ceil_div(t.k, 16);
    topk_drain<true>(t, out, out + ob);
}
