// topk.cpp -- top function of the standalone top-k kernel (interface: include/topk.h).
#include "topk.h"

extern "C" void topk(const beat_t* scores, beat_t* out, int batch, int n, int k) {
#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = return
    static TopK<TOPK_KMAX, float> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete
    const int nb = ceil_div(n, 16);
rows:
    for (int r = 0; r < batch; ++r) {
        topk_init(t, k);
        const int ob = ceil_div(t.k, 16);
    beats:
        for (int b = 0; b < nb; ++b) {
#pragma HLS pipeline II = 1
            HETSIM_COUNT("topk.beat");
            const beat_t v = scores[(long)r * nb + b];
            bool any = false;
            for (int j = 0; j < 16; ++j) {
#pragma HLS unroll
                const int i = b * 16 + j;
                any |= (i < n) && topk_wants(t, bits_float(lane_u<32>(v, j)), i);
            }
            if (any) {
                HETSIM_COUNT("topk.serial_beat");
            lanes:
                for (int j = 0; j < 16; ++j) {
#pragma HLS pipeline off
                    HETSIM_COUNT("topk.lane");
                    const int i = b * 16 + j;
                    if (i < n) topk_push(t, bits_float(lane_u<32>(v, j)), i);
                }
            }
        }
        topk_drain<true>(t, out + (long)r * 2 * ob, out + (long)r * 2 * ob + ob);
    }
}
