// dsa_indexer.cpp -- top functions of the DSA indexer (interface: include/dsa_indexer.h).
#include "dsa_indexer.h"

typedef long long dsa_score_t;

static void dsa_load_q(const beat_t* qw, short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT],
                       short w[DSA_MAX_HEADS], int num_heads, int bpk) {
load_q:
    for (int i = 0; i < num_heads * bpk; ++i) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("dsa.q_beat");
        unpack16(qw[i], q[i / bpk][i % bpk]);
    }
    const int wb = ceil_div(num_heads, HETSIM_I16_PER_BEAT);
load_w:
    for (int i = 0; i < wb; ++i) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("dsa.w_beat");
        short v[HETSIM_I16_PER_BEAT];
        unpack16(qw[num_heads * bpk + i], v);
        for (int j = 0; j < HETSIM_I16_PER_BEAT; ++j) {
#pragma HLS unroll
            if (i * HETSIM_I16_PER_BEAT + j < DSA_MAX_HEADS) w[i * HETSIM_I16_PER_BEAT + j] = v[j];
        }
    }
}

// Score stage: one key beat per cycle, all heads in parallel.
static void dsa_score_keys(const beat_t* keys, short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT],
                           const short w[DSA_MAX_HEADS], int num_heads, int bpk, int num_keys,
                           hls::stream<ScoredItem<dsa_score_t> >& out) {
    long long psum[DSA_MAX_HEADS];
#pragma HLS array_partition variable = psum complete
    for (int h = 0; h < DSA_MAX_HEADS; ++h) psum[h] = 0;
    int c = 0, s = 0;
key_beats:
    for (long it = 0; it < (long)num_keys * bpk; ++it) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("dsa.key_beat");
        short kv[HETSIM_I16_PER_BEAT];
        unpack16(keys[it], kv);
        for (int h = 0; h < DSA_MAX_HEADS; ++h) {
#pragma HLS unroll
            if (h < num_heads) psum[h] += dot32(q[h][c], kv);
        }
        if (c == bpk - 1) {
            HETSIM_COUNT("dsa.key");
            dsa_score_t score = 0;
            for (int h = 0; h < DSA_MAX_HEADS; ++h) {
#pragma HLS unroll
#if HETSIM_INJECT_BUG == HETSIM_BUG_DSA_INDEXER
                const long long r = (h == 0 || psum[h] > 0) ? psum[h] : 0;  // BUG: head 0 not ReLU'd
#else
                const long long r = psum[h] > 0 ? psum[h] : 0;
#endif
                if (h < num_heads) score += (long long)w[h] * r;
                psum[h] = 0;
            }
            ScoredItem<dsa_score_t> item;
            item.score = score;
            item.index = s;
            out.write(item);
            c = 0;
            ++s;
        } else {
            ++c;
        }
    }
}

static void dsa_score_and_select(const beat_t* keys, short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT],
                                 const short w[DSA_MAX_HEADS], int num_heads, int bpk, int num_keys,
                                 TopK<DSA_KMAX, dsa_score_t>& t) {
#pragma HLS dataflow
    hls::stream<ScoredItem<dsa_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 512
    dsa_score_keys(keys, q, w, num_heads, bpk, num_keys, fifo);
    topk_select_stream(fifo, num_keys, t);
}

extern "C" void dsa_indexer(const beat_t* qw, const beat_t* keys, beat_t* out, int batch, int num_keys,
                            int num_heads, int head_dim, int k) {
#pragma HLS INTERFACE m_axi port = qw offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = keys offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = num_keys
#pragma HLS INTERFACE s_axilite port = num_heads
#pragma HLS INTERFACE s_axilite port = head_dim
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = return
    static short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT];
#pragma HLS array_partition variable = q dim = 1 complete
#pragma HLS array_partition variable = q dim = 3 complete
    static short w[DSA_MAX_HEADS];
#pragma HLS array_partition variable = w complete
    static TopK<DSA_KMAX, dsa_score_t> t;
#pragma HLS array_partition variable = t.score complete
#pragma HLS array_partition variable = t.idx complete
    const int bpk = ceil_div(head_dim, HETSIM_I16_PER_BEAT);
    const int qwb = num_heads * bpk + ceil_div(num_heads, HETSIM_I16_PER_BEAT);
rows:
    for (int b = 0; b < batch; ++b) {
        topk_init(t, k);
        dsa_load_q(qw + (long)b * qwb, q, w, num_heads, bpk);
        dsa_score_and_select(keys + (long)b * num_keys * bpk, q, w, num_heads, bpk, num_keys, t);
        topk_drain<false>(t, out + (long)b * ceil_div(t.k, 16), out);
    }
}

static void dsa_write_scores(hls::stream<ScoredItem<dsa_score_t> >& in, int num_keys, beat_t* out) {
    beat_t acc = 0;
write_scores:
    for (int s = 0; s < num_keys; ++s) {
#pragma HLS pipeline II = 1
        const ScoredItem<dsa_score_t> item = in.read();
        set_lane<64>(acc, s % HETSIM_I64_PER_BEAT, item.score);
        if (s % HETSIM_I64_PER_BEAT == HETSIM_I64_PER_BEAT - 1 || s == num_keys - 1) {
            out[s / HETSIM_I64_PER_BEAT] = acc;
            acc = 0;
        }
    }
}

static void dsa_score_and_write(const beat_t* keys, short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT],
                                const short w[DSA_MAX_HEADS], int num_heads, int bpk, int num_keys,
                                beat_t* out) {
#pragma HLS dataflow
    hls::stream<ScoredItem<dsa_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 64
    dsa_score_keys(keys, q, w, num_heads, bpk, num_keys, fifo);
    dsa_write_scores(fifo, num_keys, out);
}

extern "C" void dsa_indexer_score(const beat_t* qw, const beat_t* keys, beat_t* out, int batch,
                                  int num_keys, int num_heads, int head_dim) {
#pragma HLS INTERFACE m_axi port = qw offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = keys offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = num_keys
#pragma HLS INTERFACE s_axilite port = num_heads
#pragma HLS INTERFACE s_axilite port = head_dim
#pragma HLS INTERFACE s_axilite port = return
    static short q[DSA_MAX_HEADS][DSA_MAX_BPK][HETSIM_I16_PER_BEAT];
#pragma HLS array_partition variable = q dim = 1 complete
#pragma HLS array_partition variable = q dim = 3 complete
    static short w[DSA_MAX_HEADS];
#pragma HLS array_partition variable = w complete
    const int bpk = ceil_div(head_dim, HETSIM_I16_PER_BEAT);
    const int qwb = num_heads * bpk + ceil_div(num_heads, HETSIM_I16_PER_BEAT);
rows:
    for (int b = 0; b < batch; ++b) {
        dsa_load_q(qw + (long)b * qwb, q, w, num_heads, bpk);
        dsa_score_and_write(keys + (long)b * num_keys * bpk, q, w, num_heads, bpk, num_keys,
                            out + (long)b * ceil_div(num_keys, HETSIM_I64_PER_BEAT));
    }
}
