// hetsim_hls.h -- shared definitions for the hetsim HLS kernels.
//
// * Beat type: every HBM port is 512 bits wide (one AXI beat = 64 B = 32 x int16 =
//   16 x int32/float = 8 x int64). A 512-bit port at 300 MHz moves 19.2 GB/s, above the
//   14.375 GB/s of one U55C HBM pseudo-channel, so each port is HBM-bound when it streams.
// * Instrumentation: HETSIM_COUNT(name) increments a named counter once per executed loop
//   iteration. It is active only in C simulation built with -DHETSIM_COUNT_ENABLE and is
//   compiled out under __SYNTHESIS__ (Vitis HLS) or without that flag, so it costs nothing
//   in hardware. The Python cycle models in hetsim/fpga_kernels/ report the same names in
//   CycleEstimate.loops and tests/hls compares them.
// * Fault injection: -DHETSIM_INJECT_BUG=HETSIM_BUG_<KERNEL> compiles one deliberate bug into
//   one kernel so that tests can show the testbench catches it (see hls/README.md).
#ifndef HETSIM_HLS_H
#define HETSIM_HLS_H

#include <ap_int.h>
#include <hls_stream.h>

typedef ap_uint<512> beat_t;

#define HETSIM_BEAT_BYTES 64
#define HETSIM_I16_PER_BEAT 32
#define HETSIM_I32_PER_BEAT 16
#define HETSIM_I64_PER_BEAT 8

// Bug identifiers for -DHETSIM_INJECT_BUG=... (0 = none).
#define HETSIM_BUG_TOPK 1                // top-k: off-by-one in the fill boundary
#define HETSIM_BUG_DSA_INDEXER 2         // dsa: ReLU lets one negative head through
#define HETSIM_BUG_BLOCK_GATE 3          // block_gate: >= instead of > in the threshold
#define HETSIM_BUG_PAGE_BOUND 4          // page_bound: uses only kmax (drops the min branch)
#define HETSIM_BUG_BM25 5                // bm25: no document-length normalization
#define HETSIM_BUG_INNER_PRODUCT_TOPK 6  // inner_product_topk: skips the last partial beat
#define HETSIM_BUG_ENGRAM_GATHER 7       // engram_gather: trigram hash ignores the oldest token
#define HETSIM_BUG_DSA_VANILLA 8         // dsa_vanilla: ReLU lets head 0 through
#ifndef HETSIM_INJECT_BUG
#define HETSIM_INJECT_BUG 0
#endif

#if defined(HETSIM_COUNT_ENABLE) && !defined(__SYNTHESIS__)
#include <cstdio>
#include <map>
#include <string>
namespace hetsim {
inline std::map<std::string, long long>& counters() {
    static std::map<std::string, long long> m;
    return m;
}
inline void reset_counters() {
    for (auto& kv : counters()) kv.second = 0;
}
inline void print_counters(std::FILE* f) {
    for (const auto& kv : counters()) std::fprintf(f, "COUNT %s %lld\n", kv.first.c_str(), kv.second);
}
}  // namespace hetsim
// The reference into the map is cached per call site (std::map nodes never move).
#define HETSIM_COUNT(name)                                              \
    do {                                                                \
        static long long& hetsim_count_ref_ = ::hetsim::counters()[name]; \
        ++hetsim_count_ref_;                                            \
    } while (0)
#else
#define HETSIM_COUNT(name) ((void)0)
#endif

// Lane helpers: extract / insert lane i of a 512-bit beat.
template <int W>
inline ap_int<W> lane_s(const beat_t& b, int i) {
#pragma HLS inline
    return ap_int<W>(b.range(W * i + W - 1, W * i));
}
template <int W>
inline ap_uint<W> lane_u(const beat_t& b, int i) {
#pragma HLS inline
    return ap_uint<W>(b.range(W * i + W - 1, W * i));
}
template <int W, typename T>
inline void set_lane(beat_t& b, int i, T v) {
#pragma HLS inline
    b.range(W * i + W - 1, W * i) = ap_uint<W>(v);
}

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Unpack the 32 int16 lanes of a beat (a wire split in hardware).
inline void unpack16(const beat_t& b, short v[HETSIM_I16_PER_BEAT]) {
#pragma HLS inline
    for (int j = 0; j < HETSIM_I16_PER_BEAT; ++j) {
#pragma HLS unroll
        v[j] = short(b.range(16 * j + 15, 16 * j).to_uint());
    }
}

// 32-lane int16 dot product (32 multipliers + an adder tree; exact in 64 bits).
inline long long dot32(const short a[HETSIM_I16_PER_BEAT], const short b[HETSIM_I16_PER_BEAT]) {
#pragma HLS inline
    long long s = 0;
    for (int j = 0; j < HETSIM_I16_PER_BEAT; ++j) {
#pragma HLS unroll
        s += int(a[j]) * int(b[j]);
    }
    return s;
}

// (score, index) item passed from a scoring stage to a top-k stage.
template <typename S>
struct ScoredItem {
    S score;
    int index;
};

#endif  // HETSIM_HLS_H
