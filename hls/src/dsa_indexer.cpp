// dsa_indexer.cpp -- top functions of the DSA indexer (interface: include/dsa_indexer.h).
#include "dsa_indexer.h"

typedef long long dsa_score_t;

// Element type of q and k (template parameter T): EPB elements per 512-bit beat. The head
// weights w stay int16 (their own beats). int32 stands for any 4-byte type (fp32 moves the same
// beats); the instantiations used here are signed char, short (the kernel's default) and int.
template <typename T>
struct DsaElem {
    enum { BITS = 8 * int(sizeof(T)), EPB = 512 / (8 * int(sizeof(T))) };
    static T get(const beat_t& b, int j) {
#pragma HLS inline
        return T(ap_int<BITS>(b.range(BITS * j + BITS - 1, BITS * j)));
    }
};

template <typename T>
static void dsa_load_q(const beat_t* qw, T q[DSA_MAX_HEADS][DSA_MAX_DIM], short w[DSA_MAX_HEADS], int num_heads,
                       int bpk) {
    const int EPB = DsaElem<T>::EPB;
load_q:
    for (int i = 0; i < num_heads * bpk; ++i) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("dsa.q_beat");
        for (int j = 0; j < EPB; ++j) {
#pragma HLS unroll
            const int d = (i % bpk) * EPB + j;
            if (d < DSA_MAX_DIM) q[i / bpk][d] = DsaElem<T>::get(qw[i], j);
        }
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

// Score stage: one key beat per cycle, all heads in parallel (64 heads x EPB MACs).
template <typename T>
static void dsa_score_keys(const beat_t* keys, T q[DSA_MAX_HEADS][DSA_MAX_DIM], const short w[DSA_MAX_HEADS],
                           int num_heads, int bpk, int num_keys, hls::stream<ScoredItem<dsa_score_t> >& out) {
    const int EPB = DsaElem<T>::EPB;
    long long psum[DSA_MAX_HEADS];
#pragma HLS array_partition variable = psum complete
    for (int h = 0; h < DSA_MAX_HEADS; ++h) psum[h] = 0;
    int c = 0, s = 0;
key_beats:
    for (long it = 0; it < (long)num_keys * bpk; ++it) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("dsa.key_beat");
        T kv[EPB];
        for (int j = 0; j < EPB; ++j) {
#pragma HLS unroll
            kv[j] = DsaElem<T>::get(keys[it], j);
        }
        for (int h = 0; h < DSA_MAX_HEADS; ++h) {
#pragma HLS unroll
            if (h < num_heads) {
                long long d = 0;
                for (int j = 0; j < EPB; ++j) {
#pragma HLS unroll
                    if (c * EPB + j < DSA_MAX_DIM) d += (long long)q[h][c * EPB + j] * kv[j];
                }
                psum[h] += d;
            }
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

static void dsa_score_and_select(const beat_t* keys, short q[DSA_MAX_HEADS][DSA_MAX_DIM],
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
    static short q[DSA_MAX_HEADS][DSA_MAX_DIM];
#pragma HLS array_partition variable = q dim = 1 complete
#pragma HLS array_partition variable = q dim = 2 cyclic factor = 32
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

template <typename T>
static void dsa_score_and_write(const beat_t* keys, T q[DSA_MAX_HEADS][DSA_MAX_DIM], const short w[DSA_MAX_HEADS],
                                int num_heads, int bpk, int num_keys, beat_t* out) {
#pragma HLS dataflow
    hls::stream<ScoredItem<dsa_score_t> > fifo;
#pragma HLS stream variable = fifo depth = 64
    dsa_score_keys<T>(keys, q, w, num_heads, bpk, num_keys, fifo);
    dsa_write_scores(fifo, num_keys, out);
}

template <typename T>
void dsa_indexer_score_t(const beat_t* qw, const beat_t* keys, beat_t* out, int batch, int num_keys, int num_heads,
                         int head_dim) {
    static T q[DSA_MAX_HEADS][DSA_MAX_DIM];
#pragma HLS array_partition variable = q dim = 1 complete
    static short w[DSA_MAX_HEADS];
#pragma HLS array_partition variable = w complete
    const int bpk = ceil_div(head_dim, int(DsaElem<T>::EPB));
    const int qwb = num_heads * bpk + ceil_div(num_heads, HETSIM_I16_PER_BEAT);
rows:
    for (int b = 0; b < batch; ++b) {
        dsa_load_q<T>(qw + (long)b * qwb, q, w, num_heads, bpk);
        dsa_score_and_write<T>(keys + (long)b * num_keys * bpk, q, w, num_heads, bpk, num_keys,
                               out + (long)b * ceil_div(num_keys, HETSIM_I64_PER_BEAT));
    }
}
template void dsa_indexer_score_t<signed char>(const beat_t*, const beat_t*, beat_t*, int, int, int, int);
template void dsa_indexer_score_t<int>(const beat_t*, const beat_t*, beat_t*, int, int, int, int);

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
    dsa_indexer_score_t<short>(qw, keys, out, batch, num_keys, num_heads, head_dim);
}
