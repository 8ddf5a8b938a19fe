// topk.h -- register-based streaming top-k engine and the standalone `topk` kernel.
//
// Ordering (exact, used by every hetsim kernel and testbench): item a beats item b when
//   a.score > b.score, or a.score == b.score and a.index < b.index   (lower index wins ties).
// The engine keeps the K best items seen so far. The selected SET is therefore uniquely
// defined; the order of the K outputs is slot order (not sorted), like the study's engine.
// Scores must not be NaN.
//
// Engine (TopK<KMAX, S>): KMAX (score, index) slots in fully partitioned registers plus the
// slot number of the current worst entry.
//   fill   : the first k items go straight into slots 0..k-1 (1 item/cycle);
//            when slot k-1 is written the worst slot is found by a min tree ("topk.rescan").
//   scan   : an item that does not beat the worst costs its 1 cycle (a single comparison);
//            a hit replaces the worst slot ("topk.replace") and re-runs the min tree, a
//            log2(KMAX)-level comparator tree over all slots: rescan_cycles = log2(KMAX).
//   drain  : k output cycles ("topk.drain"); slots never filled (n < k) emit index -1.
// Expected hits for a random order: sum_{i=k}^{n-1} k/(i+1) = k (H_n - H_k) ~ k ln(n/k);
// ascending order (worst case) hits n-k times, descending order never.
//
// Standalone kernel `topk` (top function below):
//   ports : gmem0 (512-bit, read)  scores, batch rows of ceil(n/16) beats of float32,
//                                   item j of a row in lane j%16 of beat j/16;
//           gmem1 (512-bit, write) per row ceil(k/16) beats of int32 ids followed by
//                                   ceil(k/16) beats of float32 scores (padding id -1);
//           s_axilite: batch, n, k (1 <= k <= TOPK_KMAX), control.
//   Each beat is first checked in one cycle against the current worst on all 16 lanes
//   ("topk.beat"). Only beats that are still filling or contain a candidate go through the
//   serial 16-lane path ("topk.serial_beat", 16 "topk.lane" cycles each).
//   Cycles per row ~ beats + 16 serial_beats + rescans log2(KMAX) + k + depth.
//   Throughput: up to 16 scores/cycle (one beat) on random data once the set has settled;
//   1 score/cycle in the worst case (ascending input) plus the rescans.
#ifndef HETSIM_TOPK_H
#define HETSIM_TOPK_H

#include "hetsim_hls.h"

#ifndef TOPK_KMAX
#define TOPK_KMAX 2048
#endif

template <int N>
struct hetsim_log2 {
    static const int value = 1 + hetsim_log2<N / 2>::value;
};
template <>
struct hetsim_log2<1> {
    static const int value = 0;
};

template <typename S>
inline bool topk_better(S as, int ai, S bs, int bi) {
#pragma HLS inline
    return as > bs || (as == bs && ai < bi);
}

template <int KMAX, typename S>
struct TopK {
    S score[KMAX];
    int idx[KMAX];
    int k;      // runtime k, 1..KMAX
    int count;  // slots filled so far
    int worst;  // slot of the worst entry (valid once count == k)
};

template <int KMAX, typename S>
void topk_init(TopK<KMAX, S>& t, int k) {
#pragma HLS inline
    static_assert((KMAX & (KMAX - 1)) == 0 && KMAX >= 2, "KMAX must be a power of two >= 2");
    t.k = k < 1 ? 1 : (k > KMAX ? KMAX : k);
    t.count = 0;
    t.worst = 0;
}

// Find the worst of slots 0..k-1 with a binary tree of log2(KMAX) levels.
template <int KMAX, typename S>
void topk_rescan(TopK<KMAX, S>& t) {
#pragma HLS inline off
    HETSIM_COUNT("topk.rescan");
#if HETSIM_INJECT_BUG == HETSIM_BUG_TOPK
    const int valid = t.k - 1;  // BUG: off by one, the last slot is never considered
#else
    const int valid = t.k;
#endif
    int cand[KMAX];
#pragma HLS array_partition variable = cand complete
    for (int j = 0; j < KMAX; ++j) {
#pragma HLS unroll
        cand[j] = j;
    }
    for (int width = KMAX / 2; width >= 1; width /= 2) {
#pragma HLS unroll
        for (int j = 0; j < width; ++j) {
#pragma HLS unroll
            const int a = cand[2 * j], b = cand[2 * j + 1];
            int w;
            if (b >= valid) w = a;
            else if (a >= valid) w = b;
            else w = topk_better(t.score[a], t.idx[a], t.score[b], t.idx[b]) ? b : a;
            cand[j] = w;
        }
    }
    t.worst = cand[0];
}

// Offer one item. Returns true when the item entered the set.
template <int KMAX, typename S>
bool topk_push(TopK<KMAX, S>& t, S s, int i) {
#pragma HLS inline
    if (t.count < t.k) {
        t.score[t.count] = s;
        t.idx[t.count] = i;
        t.count++;
        if (t.count == t.k) topk_rescan(t);
        return true;
    }
    if (topk_better(s, i, t.score[t.worst], t.idx[t.worst])) {
        HETSIM_COUNT("topk.replace");
        t.score[t.worst] = s;
        t.idx[t.worst] = i;
        topk_rescan(t);
        return true;
    }
    return false;
}

// The select stage of every fused kernel: drain n scored items from the scoring stage's
// stream into the top-k, one per cycle.
template <int KMAX, typename S>
void topk_select_stream(hls::stream<ScoredItem<S> >& in, int n, TopK<KMAX, S>& t) {
select:
    for (int i = 0; i < n; ++i) {
#pragma HLS pipeline II = 1
        const ScoredItem<S> s = in.read();
        topk_push(t, s.score, s.index);
    }
}

// Would this item enter the set? (No state change; one comparison against the worst.)
template <int KMAX, typename S>
inline bool topk_wants(const TopK<KMAX, S>& t, S s, int i) {
#pragma HLS inline
    return t.count < t.k || topk_better(s, i, t.score[t.worst], t.idx[t.worst]);
}

inline ap_uint<32> float_bits(float f) {
#pragma HLS inline
    union {
        float f;
        unsigned u;
    } c;
    c.f = f;
    return ap_uint<32>(c.u);
}
inline float bits_float(ap_uint<32> u) {
#pragma HLS inline
    union {
        float f;
        unsigned u;
    } c;
    c.u = u.to_uint();
    return c.f;
}

// Drain k entries in slot order: ids into ceil(k/16) beats at out_ids and, when WITH_SCORES,
// float scores into ceil(k/16) beats at out_scores. Unfilled slots (n < k) give id -1, score 0.
template <bool WITH_SCORES, int KMAX, typename S>
void topk_drain(const TopK<KMAX, S>& t, beat_t* out_ids, beat_t* out_scores) {
    beat_t ib = 0, sb = 0;
drain:
    for (int j = 0; j < t.k; ++j) {
#pragma HLS pipeline II = 1
        HETSIM_COUNT("topk.drain");
        const bool filled = j < t.count;
        set_lane<32>(ib, j % 16, filled ? t.idx[j] : -1);
        if (WITH_SCORES) set_lane<32>(sb, j % 16, float_bits(filled ? float(t.score[j]) : 0.0f));
        if (j % 16 == 15 || j == t.k - 1) {
            out_ids[j / 16] = ib;
            if (WITH_SCORES) out_scores[j / 16] = sb;
            ib = 0;
            sb = 0;
        }
    }
}

// Standalone kernel (top function in src/topk.cpp): top-k of each row of float scores.
extern "C" void topk(const beat_t* scores, beat_t* out, int batch, int n, int k);

#endif  // HETSIM_TOPK_H
