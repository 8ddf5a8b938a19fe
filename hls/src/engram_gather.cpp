// engram_gather.cpp -- top function (interface: include/engram_gather.h).
#include "engram_gather.h"

struct EgRows {
    unsigned row[EG_MAX_HEADS];
};

static void eg_hash(const beat_t* tokens, const unsigned rows[EG_MAX_HEADS], int num_tokens, int num_heads,
                    int pad_id, hls::stream<EgRows> out[EG_GROUPS]) {
    unsigned x1 = unsigned(pad_id), x2 = unsigned(pad_id);
    beat_t tb = 0;
hash:
    for (int t = 0; t < num_tokens; ++t) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("eg.token");
        if (t % 16 == 0) tb = tokens[t / 16];
        const unsigned x0 = lane_u<32>(tb, t % 16).to_uint();
        EgRows r;
        for (int h = 0; h < EG_MAX_HEADS; ++h) {
#pragma HLS unroll
#if HETSIM_INJECT_BUG == HETSIM_BUG_ENGRAM_GATHER
            const unsigned m = eg_mix(x0, x1, 0u, h, num_heads);  // BUG: trigram drops x_{t-2}
            (void)x2;
#else
            const unsigned m = eg_mix(x0, x1, x2, h, num_heads);
#endif
            r.row[h] = h < num_heads ? m % rows[h] : 0u;
        }
        for (int g = 0; g < EG_GROUPS; ++g) {
#pragma HLS unroll
            out[g].write(r);
        }
        x2 = x1;
        x1 = x0;
    }
}

static void eg_gather(int g, const beat_t* tab, beat_t* out, const unsigned base[EG_MAX_HEADS], int num_tokens,
                      int num_heads, int bpr, hls::stream<EgRows>& in) {
    const int heads_g = num_heads > g ? ceil_div(num_heads - g, EG_GROUPS) : 0;
    long o = 0;
gather:
    for (int t = 0; t < num_tokens; ++t) {
        const EgRows r = in.read();
        for (int j = 0; j < heads_g; ++j) {
            const int h = g + EG_GROUPS * j;
            for (int c = 0; c < bpr; ++c) {
#pragma HLS pipeline II = 1
                HETSIM_COUNT("eg.row_beat");
                out[o++] = tab[base[h] + (long)r.row[h] * bpr + c];
            }
        }
    }
}

static void eg_dataflow(const beat_t* tokens, const unsigned rows[EG_MAX_HEADS], const unsigned base[EG_MAX_HEADS],
                        const beat_t* tab0, const beat_t* tab1, const beat_t* tab2, const beat_t* tab3, beat_t* out0,
                        beat_t* out1, beat_t* out2, beat_t* out3, int num_tokens, int num_heads, int bpr,
                        int pad_id) {
#pragma HLS dataflow
    hls::stream<EgRows> fifo[EG_GROUPS];
#pragma HLS stream variable = fifo depth = 64
    eg_hash(tokens, rows, num_tokens, num_heads, pad_id, fifo);
    eg_gather(0, tab0, out0, base, num_tokens, num_heads, bpr, fifo[0]);
    eg_gather(1, tab1, out1, base, num_tokens, num_heads, bpr, fifo[1]);
    eg_gather(2, tab2, out2, base, num_tokens, num_heads, bpr, fifo[2]);
    eg_gather(3, tab3, out3, base, num_tokens, num_heads, bpr, fifo[3]);
}

extern "C" void engram_gather(const beat_t* tokens, const beat_t* meta, const beat_t* tab0, const beat_t* tab1,
                              const beat_t* tab2, const beat_t* tab3, beat_t* out0, beat_t* out1, beat_t* out2,
                              beat_t* out3, int num_tokens, int num_heads, int row_elems, int pad_id) {
#pragma HLS INTERFACE m_axi port = tokens offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = meta offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = tab0 offset = slave bundle = gmem1 num_read_outstanding = 32
#pragma HLS INTERFACE m_axi port = tab1 offset = slave bundle = gmem2 num_read_outstanding = 32
#pragma HLS INTERFACE m_axi port = tab2 offset = slave bundle = gmem3 num_read_outstanding = 32
#pragma HLS INTERFACE m_axi port = tab3 offset = slave bundle = gmem4 num_read_outstanding = 32
#pragma HLS INTERFACE m_axi port = out0 offset = slave bundle = gmem5
#pragma HLS INTERFACE m_axi port = out1 offset = slave bundle = gmem6
#pragma HLS INTERFACE m_axi port = out2 offset = slave bundle = gmem7
#pragma HLS INTERFACE m_axi port = out3 offset = slave bundle = gmem8
#pragma HLS INTERFACE s_axilite port = num_tokens
#pragma HLS INTERFACE s_axilite port = num_heads
#pragma HLS INTERFACE s_axilite port = row_elems
#pragma HLS INTERFACE s_axilite port = pad_id
#pragma HLS INTERFACE s_axilite port = return
    unsigned rows[EG_MAX_HEADS], base[EG_MAX_HEADS];
#pragma HLS array_partition variable = rows complete
#pragma HLS array_partition variable = base complete
load_meta:
    for (int h = 0; h < EG_MAX_HEADS; ++h) {
#pragma HLS pipeline II = 1
        const ap_uint<64> m = h < num_heads ? ap_uint<64>(meta[h / 8].range(64 * (h % 8) + 63, 64 * (h % 8))) : ap_uint<64>(1);
        rows[h] = m.range(31, 0).to_uint();
        base[h] = m.range(63, 32).to_uint();
        if (rows[h] == 0) rows[h] = 1;
    }
    eg_dataflow(tokens, rows, base, tab0, tab1, tab2, tab3, out0, out1, out2, out3, num_tokens, num_heads,
                ceil_div(row_elems, HETSIM_I16_PER_BEAT), pad_id);
}
