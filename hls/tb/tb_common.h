// tb_common.h -- helpers shared by the hetsim C-simulation testbenches (not synthesized).
//
// Every testbench binary has two modes:
//   tb_<kernel>                 run the test suite; print one PASS/FAIL line per case and a
//                               summary; exit 1 on any mismatch.
//   tb_<kernel> count key=val.. run ONE invocation on a deterministic input of the given
//                               shape and print the HETSIM_COUNT counters ("COUNT name value"),
//                               which tests/hls compares with the Python cycle model.
#ifndef HETSIM_TB_COMMON_H
#define HETSIM_TB_COMMON_H

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "hetsim_hls.h"

namespace tb {

struct Suite {
    std::string name;
    int cases = 0, failures = 0;
    explicit Suite(const char* n) : name(n) {}
    // Record one case; `detail` explains a failure.
    void check(bool ok, const std::string& label, const std::string& detail = "") {
        ++cases;
        if (!ok) ++failures;
        std::printf("%s %s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), label.c_str(),
                    ok || detail.empty() ? "" : ": ", ok ? "" : detail.c_str());
    }
    int finish() const {
        std::printf("SUMMARY %s: %d cases, %d failed\n", name.c_str(), cases, failures);
        return failures ? 1 : 0;
    }
};

inline std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// Reference top-k: the ids of the min(n, k) best items under (score desc, index asc).
template <typename S>
std::vector<int> ref_topk(const std::vector<S>& s, int k) {
    std::vector<int> id(s.size());
    for (size_t i = 0; i < s.size(); ++i) id[i] = int(i);
    std::sort(id.begin(), id.end(), [&](int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    id.resize(std::min<size_t>(s.size(), size_t(k)));
    return id;
}

// Compare a hardware id list (k entries, -1 = unfilled slot) with the reference set.
inline bool same_set(std::vector<int> hw, std::vector<int> ref, int k, std::string* why) {
    int pad = 0;
    std::vector<int> got;
    for (int v : hw) {
        if (v == -1) ++pad;
        else got.push_back(v);
    }
    const int want_pad = k - int(ref.size());
    if (pad != want_pad) {
        *why = fmt("%d unfilled slots, expected %d", pad, want_pad);
        return false;
    }
    std::sort(got.begin(), got.end());
    std::sort(ref.begin(), ref.end());
    if (got != ref) {
        size_t i = 0;
        while (i < got.size() && i < ref.size() && got[i] == ref[i]) ++i;
        *why = fmt("id sets differ (first difference at sorted position %zu: got %d, want %d)", i,
                   i < got.size() ? got[i] : -2, i < ref.size() ? ref[i] : -2);
        return false;
    }
    return true;
}

// Unpack n 32-bit lanes from beats.
inline std::vector<int> unpack_i32(const beat_t* b, int n) {
    std::vector<int> v(n);
    for (int i = 0; i < n; ++i) v[i] = int(lane_s<32>(b[i / 16], i % 16));
    return v;
}

// Pack int16 rows of `dim` elements, each row padded with zeros to ceil(dim/32) beats.
inline void pack_rows16(const std::vector<std::vector<short> >& rows, int dim, std::vector<beat_t>& out) {
    const int bpr = ceil_div(dim, HETSIM_I16_PER_BEAT);
    for (const auto& r : rows) {
        std::vector<beat_t> b(bpr, 0);
        for (int d = 0; d < dim; ++d) set_lane<16>(b[d / 32], d % 32, r[d]);
        out.insert(out.end(), b.begin(), b.end());
    }
}

inline std::vector<std::vector<short> > rand_rows16(std::mt19937_64& g, int n, int dim, int lo, int hi) {
    std::uniform_int_distribution<int> u(lo, hi);
    std::vector<std::vector<short> > r(n, std::vector<short>(dim));
    for (auto& row : r)
        for (auto& x : row) x = short(u(g));
    return r;
}

// key=value arguments of the count mode.
struct Args {
    std::map<std::string, std::string> kv;
    Args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) {
            const char* eq = std::strchr(argv[i], '=');
            if (eq) kv[std::string(argv[i], size_t(eq - argv[i]))] = eq + 1;
        }
    }
    long get(const char* key, long dflt) const {
        auto it = kv.find(key);
        return it == kv.end() ? dflt : std::atol(it->second.c_str());
    }
    std::string str(const char* key, const char* dflt) const {
        auto it = kv.find(key);
        return it == kv.end() ? dflt : it->second;
    }
};

inline bool count_mode(int argc, char** argv) { return argc > 1 && std::strcmp(argv[1], "count") == 0; }

inline void print_counts() {
#if defined(HETSIM_COUNT_ENABLE)
    hetsim::print_counters(stdout);
#else
    std::printf("COUNTERS_DISABLED\n");
#endif
}
inline void reset_counts() {
#if defined(HETSIM_COUNT_ENABLE)
    hetsim::reset_counters();
#endif
}

// Deterministic orders used by the count mode: "asc" (every item is a top-k hit), "desc"
// (no hit after the fill) and "random" (a shuffled permutation, seeded).
inline std::vector<long long> order_values(int n, const std::string& order, unsigned seed) {
    std::vector<long long> v(n);
    for (int i = 0; i < n; ++i) v[i] = i;
    if (order == "desc") std::reverse(v.begin(), v.end());
    else if (order == "random") {
        std::mt19937_64 g(seed);
        std::shuffle(v.begin(), v.end(), g);
    }
    return v;
}

}  // namespace tb

#endif  // HETSIM_TB_COMMON_H
