// dsa_vanilla.h -- the study's vanilla DSA lightning indexer (HeteroLLM kernels/dsa_indexer,
// shared/reference/heterollm.md §3.1), re-implemented from its loop structure for hetsim:
//
//   score(s) = sum_h w_h * ReLU(q_h . k_s)   -> top-K ids (unsorted, as the study emits them)
//
// Template parameters (the hardware knobs hetsim's cycle model `study_dsa_vanilla` takes):
//   PORTS      HBM ports = PEs; PE c owns dims d = c (mod PORTS) (default 8)
//   HEADS      index heads of the MAC array (default 16)
//   T          element type of q and k: signed char (int8), short (int16), float (fp32)
//   PORT_BITS  width of one port's line (default 256); a line holds KEY_LANES = PORT_BITS /
//              (8 sizeof T) keys of one dim (16 at int16)
//   KMAX       top-k slots (2048)
// Layout per port c: first QL = ceil(HEADS/KEY_LANES) lines per owned dim with q[d][heads],
// then for every round of KEY_LANES keys and every owned dim one line of k[d][keys].
// Per round: DIMS_PE MAC cycles ("dsav.mac", a KEY_LANES x HEADS MAC array per PE, all PEs in
// parallel) then HEADS output cycles ("dsav.out": the chain adds the upstream partial sums,
// one key x head pack per cycle). At 16 heads x 128 dims on 8 ports: 16 + 16 = 32 cycles per
// 16 keys. Then ReLU, the float head weights and the top-k of `topk_parallel_cmp`: 16-wide
// packs ("topk.pack"), a pack with a candidate ("topk.hit_pack") runs a 16-lane inner loop
// and each replacement ("topk.replace") recomputes the min (log2(KMAX) levels).
// C simulation only (hetsim's csim flow): the counters are what tests/hls compares.
#ifndef HETSIM_DSA_VANILLA_H
#define HETSIM_DSA_VANILLA_H

#include "hetsim_hls.h"

#define DSAV_DIM 128
#define DSAV_PACK 16

template <typename T>
struct DsavAcc {
    typedef long long type;  // ap_int<40> in the study; exact in 64 bits
};
template <>
struct DsavAcc<float> {
    typedef double type;
};

template <typename T, int PORT_BITS>
struct DsavLine {
    static const int LANES = PORT_BITS / (8 * int(sizeof(T)));
    T v[LANES];
};

struct DsavTopK {
    float score[2048];
    int idx[2048];
};

// Study-style top-k over a stream of 16-wide packs (fill with the first K/16 packs, then a
// per-pack OR test and a per-lane replacement of the current minimum).
template <int KMAX>
static void dsav_topk(const float* scores, int n, int k, int* out) {
    static float buf[KMAX];
    static int id[KMAX];
    const int kk = k < 1 ? 1 : (k > KMAX ? KMAX : k);
    int fill = 0, min_i = 0;
    const int packs = ceil_div(n, DSAV_PACK);
    for (int p = 0; p < packs; ++p) {
        HETSIM_COUNT("topk.pack");
        const int base = p * DSAV_PACK;
        if (fill < kk) {
            for (int j = 0; j < DSAV_PACK && base + j < n; ++j) {
                if (fill < kk) {
                    buf[fill] = scores[base + j];
                    id[fill] = base + j;
                    ++fill;
                } else if (scores[base + j] > buf[min_i]) {
                    HETSIM_COUNT("topk.replace");
                    buf[min_i] = scores[base + j];
                    id[min_i] = base + j;
                    for (int s = 0; s < kk; ++s) if (buf[s] < buf[min_i]) min_i = s;
                }
                if (fill == kk) {
                    min_i = 0;
                    for (int s = 1; s < kk; ++s) if (buf[s] < buf[min_i]) min_i = s;
                }
            }
            continue;
        }
        bool any = false;
        for (int j = 0; j < DSAV_PACK && base + j < n; ++j) any |= scores[base + j] > buf[min_i];
        if (!any) continue;
        HETSIM_COUNT("topk.hit_pack");
        for (int j = 0; j < DSAV_PACK && base + j < n; ++j) {
            if (scores[base + j] > buf[min_i]) {
                HETSIM_COUNT("topk.replace");
                buf[min_i] = scores[base + j];
                id[min_i] = base + j;
                for (int s = 0; s < kk; ++s) if (buf[s] < buf[min_i]) min_i = s;
            }
        }
    }
    for (int s = 0; s < kk; ++s) out[s] = s < fill ? id[s] : -1;
}

template <int PORTS, int HEADS, typename T, int PORT_BITS, int KMAX>
void dsa_vanilla_t(const DsavLine<T, PORT_BITS>* const qk[PORTS], const float w[HEADS], int* out, int num_keys,
                   int head_dim, int k, float* scores_out) {
    typedef typename DsavAcc<T>::type acc_t;
    const int KL = DsavLine<T, PORT_BITS>::LANES;
    const int DPE = ceil_div(head_dim, PORTS);
    const int QL = ceil_div(HEADS, KL);
    static T q[PORTS][DSAV_DIM][HEADS];
    for (int j = 0; j < DPE; ++j) {  // q lines: all ports in parallel
        for (int l = 0; l < QL; ++l) {
            HETSIM_COUNT("dsav.q_line");
            for (int c = 0; c < PORTS; ++c)
                for (int x = 0; x < KL && l * KL + x < HEADS; ++x) q[c][j][l * KL + x] = qk[c][j * QL + l].v[x];
        }
    }
    const int rounds = ceil_div(num_keys, KL);
    static float score[1 << 20];
    for (int r = 0; r < rounds; ++r) {
        HETSIM_COUNT("dsav.round");
        static acc_t psum[PORTS][64][HEADS];
        for (int c = 0; c < PORTS; ++c)
            for (int x = 0; x < KL; ++x)
                for (int h = 0; h < HEADS; ++h) psum[c][x][h] = 0;
        for (int j = 0; j < DPE; ++j) {  // MAC phase: one line per port per cycle
            HETSIM_COUNT("dsav.mac");
            for (int c = 0; c < PORTS; ++c) {
                if (c + j * PORTS >= head_dim) continue;
                const DsavLine<T, PORT_BITS>& line = qk[c][DPE * QL + (long)r * DPE + j];
                for (int x = 0; x < KL; ++x)
                    for (int h = 0; h < HEADS; ++h) psum[c][x][h] += acc_t(q[c][j][h]) * acc_t(line.v[x]);
            }
        }
        for (int h = 0; h < HEADS; ++h) {  // output phase: one key x head pack per cycle down the chain
            HETSIM_COUNT("dsav.out");
            for (int x = 0; x < KL; ++x) {
                const long s = (long)r * KL + x;
                if (s >= num_keys) continue;
                acc_t tot = 0;
                for (int c = 0; c < PORTS; ++c) tot += psum[c][x][h];
#if HETSIM_INJECT_BUG == HETSIM_BUG_DSA_VANILLA
                const float relu = (h == 0 || tot > 0) ? float(tot) : 0.0f;  // BUG: head 0 not ReLU'd
#else
                const float relu = tot > 0 ? float(tot) : 0.0f;
#endif
                if (h == 0) score[s] = 0.0f;
                score[s] += w[h] * relu;
            }
        }
    }
    if (scores_out)
        for (int s = 0; s < num_keys; ++s) scores_out[s] = score[s];
    dsav_topk<KMAX>(score, num_keys, k, out);
}

#ifndef DSAV_PORTS
#define DSAV_PORTS 8
#endif
#ifndef DSAV_HEADS
#define DSAV_HEADS 16
#endif
#ifndef DSAV_ELEM
#define DSAV_ELEM short
#endif
#ifndef DSAV_PORT_BITS
#define DSAV_PORT_BITS 256
#endif
#define DSAV_KMAX 2048

typedef DsavLine<DSAV_ELEM, DSAV_PORT_BITS> dsav_line_t;

// The study's configuration: 8 ports, 16 heads, int16, 256-bit lines, top-2048.
void dsa_vanilla(const dsav_line_t* const qk[DSAV_PORTS], const float w[DSAV_HEADS], int* out, int num_keys,
                 int head_dim, int k, float* scores_out);

#endif  // HETSIM_DSA_VANILLA_H
