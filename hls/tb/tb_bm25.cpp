// tb_bm25.cpp -- testbench of the bm25 kernel against a double-precision textbook BM25.
//
// Tolerance: per-document scores within 1e-4 relative (+1e-6 absolute); the returned id set must
// contain every document whose reference score exceeds the k-th best by more than the tolerance
// and nothing scoring below it by more than the tolerance. Exact cases (identical documents)
// check the lower-id-wins tie rule bit for bit.
#include <cmath>

#include "bm25.h"
#include "tb_common.h"

struct Corpus {
    int num_docs;
    std::vector<int> len;                                   // tokens per doc
    std::vector<std::vector<std::pair<int, int> > > post;   // per query term: (doc, tf), doc ascending
};

// Lane-partitioned packing (see bm25.h). Returns meta beats and postings beats.
static void pack_index(const Corpus& c, std::vector<beat_t>& meta, std::vector<beat_t>& lens,
                       std::vector<beat_t>& post) {
    const int nt = int(c.post.size());
    meta.assign(ceil_div(std::max(nt, 1), 4), 0);
    for (int t = 0; t < nt; ++t) {
        std::vector<std::vector<std::pair<int, int> > > lane(BM25_LANES);
        for (auto& p : c.post[t]) lane[p.first % BM25_LANES].push_back(p);
        size_t nb = 0;
        for (auto& l : lane) nb = std::max(nb, l.size());
        const int first = int(post.size());
        for (size_t i = 0; i < nb; ++i) {
            beat_t bt = 0;
            for (int j = 0; j < BM25_LANES; ++j)
                if (i < lane[j].size()) {
                    ap_uint<64> slot = 0;
                    slot.range(31, 0) = lane[j][i].first;
                    slot.range(47, 32) = lane[j][i].second;
                    slot[48] = 1;
                    bt.range(64 * j + 63, 64 * j) = slot;
                }
            post.push_back(bt);
        }
        ap_uint<128> w = 0;
        w.range(31, 0) = first;
        w.range(63, 32) = int(nb);
        w.range(95, 64) = int(c.post[t].size());
        meta[t / 4].range(128 * (t % 4) + 127, 128 * (t % 4)) = w;
    }
    lens.assign(ceil_div(c.num_docs, 16), 0);
    for (int d = 0; d < c.num_docs; ++d) set_lane<32>(lens[d / 16], d % 16, c.len[d]);
    if (post.empty()) post.push_back(0);
}

static std::vector<double> reference(const Corpus& c, double k1, double b) {
    double avgdl = 0;
    for (int l : c.len) avgdl += l;
    avgdl /= c.num_docs;
    std::vector<double> s(c.num_docs, 0.0);
    for (const auto& pl : c.post) {
        const double df = double(pl.size()), n = c.num_docs;
        const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
        for (const auto& p : pl) {
            const double tf = p.second, dl = c.len[p.first];
            s[p.first] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl));
        }
    }
    return s;
}

static float avg_len(const Corpus& c) {
    double a = 0;
    for (int l : c.len) a += l;
    return float(a / c.num_docs);
}

static void run_case(tb::Suite& s, const std::string& label, const Corpus& c, int k, float k1 = 1.2f,
                     float b = 0.75f, bool exact_ids = false) {
    std::vector<beat_t> meta, lens, post;
    pack_index(c, meta, lens, post);
    const int kk = std::min(std::max(k, 1), BM25_KMAX), ob = ceil_div(kk, 16);
    std::vector<beat_t> out(2 * ob + 1);
    bm25(meta.data(), lens.data(), post.data(), out.data(), c.num_docs, int(c.post.size()), k, k1, b, avg_len(c));
    const std::vector<double> ref = reference(c, k1, b);
    std::vector<int> hw = tb::unpack_i32(out.data(), kk);
    const double rtol = 1e-4, atol = 1e-6;
    auto tol = [&](double v) { return atol + rtol * std::fabs(v); };
    std::string why;
    bool ok = true;
    std::vector<int> want = tb::ref_topk(ref, kk);
    if (exact_ids) ok = tb::same_set(hw, want, kk, &why);
    const double kth = want.empty() ? 0.0 : ref[want.back()];
    std::vector<char> in_hw(c.num_docs, 0);
    int filled = 0;
    for (int j = 0; ok && j < kk; ++j) {
        if (hw[j] < 0) continue;
        ++filled;
        if (hw[j] >= c.num_docs || in_hw[hw[j]]) {
            ok = false, why = tb::fmt("invalid or duplicate id %d", hw[j]);
            break;
        }
        in_hw[hw[j]] = 1;
        const double got = bits_float(lane_u<32>(out[ob + j / 16], j % 16));
        if (std::fabs(got - ref[hw[j]]) > tol(ref[hw[j]]))
            ok = false, why = tb::fmt("doc %d score %.7g, reference %.7g", hw[j], got, ref[hw[j]]);
        else if (ref[hw[j]] < kth - tol(kth))
            ok = false, why = tb::fmt("doc %d (score %.7g) is below the k-th best %.7g", hw[j], ref[hw[j]], kth);
    }
    if (ok && filled != int(want.size())) ok = false, why = tb::fmt("%d ids, expected %zu", filled, want.size());
    for (int d = 0; ok && d < c.num_docs; ++d)
        if (ref[d] > kth + tol(kth) && !in_hw[d])
            ok = false, why = tb::fmt("doc %d (score %.7g > k-th %.7g) missing", d, ref[d], kth);
    s.check(ok, tb::fmt("%s docs=%d terms=%zu k=%d k1=%.2f b=%.2f", label.c_str(), c.num_docs, c.post.size(), k, k1, b),
            why);
}

// Random corpus: doc lengths in [lo, hi]; each query term occurs in a doc with probability p
// (tf in [1, 5]). Terms may have no postings.
static Corpus random_corpus(std::mt19937_64& g, int docs, int terms, int lo, int hi, double p) {
    Corpus c;
    c.num_docs = docs;
    std::uniform_int_distribution<int> L(lo, hi), TF(1, 5);
    std::uniform_real_distribution<double> u(0, 1);
    for (int d = 0; d < docs; ++d) c.len.push_back(L(g));
    c.post.resize(terms);
    for (int t = 0; t < terms; ++t) {
        const double pt = t == terms - 1 ? 0.0 : p * (0.2 + u(g));  // last term: df = 0
        for (int d = 0; d < docs; ++d)
            if (u(g) < pt) c.post[t].push_back({d, std::min(TF(g), std::max(c.len[d], 1))});
    }
    return c;
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        // num_postings spread evenly over the terms, each term's docs consecutive from a
        // term-specific start without wrap-around (so the lanes are balanced: ceil(len/8) beats per
        // term); requires num_postings / num_terms <= num_docs.
        tb::Args a(argc, argv, 2);
        const int docs = a.get("num_docs", 10000), terms = a.get("num_terms", 16), np = a.get("num_postings", 20000),
                  k = a.get("k", 64);
        Corpus c;
        c.num_docs = docs;
        c.len.assign(docs, 100);
        c.post.resize(terms);
        for (int t = 0; t < terms; ++t) {
            const int cnt = np / terms + (t < np % terms ? 1 : 0);
            std::vector<int> ds;
            const int start = docs > cnt ? (t * 977) % (docs - cnt + 1) : 0;
            for (int i = 0; i < cnt && i < docs; ++i) ds.push_back(start + i);
            std::sort(ds.begin(), ds.end());
            for (int d : ds) c.post[t].push_back({d, 1 + (d + t) % 4});
        }
        std::vector<beat_t> meta, lens, post;
        pack_index(c, meta, lens, post);
        std::vector<beat_t> out(2 * ceil_div(std::min(k, BM25_KMAX), 16) + 1);
        tb::reset_counts();
        bm25(meta.data(), lens.data(), post.data(), out.data(), docs, terms, k, 1.2f, 0.75f, 100.0f);
        tb::print_counts();
        return 0;
    }
    tb::Suite s("bm25");
    std::mt19937_64 g(21);
    run_case(s, "random", random_corpus(g, 20001, 24, 5, 400, 0.05), 256);
    run_case(s, "random-k64", random_corpus(g, 5003, 8, 1, 60, 0.2), 64, 1.5f, 0.3f);
    run_case(s, "no-length-norm(b=0)", random_corpus(g, 3000, 6, 10, 200, 0.1), 50, 1.2f, 0.0f);
    run_case(s, "full-length-norm(b=1)", random_corpus(g, 3000, 6, 10, 200, 0.1), 50, 0.9f, 1.0f);
    run_case(s, "few-matches(k>matches)", random_corpus(g, 4000, 3, 10, 50, 0.002), 200);
    run_case(s, "k-equals-n", random_corpus(g, 200, 5, 10, 50, 0.3), 200);
    run_case(s, "k-greater-than-n", random_corpus(g, 77, 5, 10, 50, 0.3), 100);
    {
        // Term in every document (idf small but > 0) plus a rare term.
        Corpus c = random_corpus(g, 2500, 2, 10, 300, 0.01);
        c.post[1].clear();
        for (int d = 0; d < c.num_docs; ++d) c.post[1].push_back({d, 1 + d % 3});
        run_case(s, "term-in-every-doc", c, 100);
    }
    {
        // Same tf, different lengths: only length normalization separates these documents.
        Corpus c;
        c.num_docs = 999;
        for (int d = 0; d < c.num_docs; ++d) c.len.push_back(20 + (d * 37) % 500);
        c.post.resize(1);
        for (int d = 0; d < c.num_docs; d += 2) c.post[0].push_back({d, 2});
        run_case(s, "length-only", c, 40);
    }
    {
        // Identical documents: identical float scores, ids 0..k-1 must win (exact).
        Corpus c;
        c.num_docs = 1001;
        c.len.assign(c.num_docs, 50);
        c.post.resize(4);
        for (int t = 0; t < 4; ++t)
            for (int d = 0; d < c.num_docs; ++d) c.post[t].push_back({d, 1 + t});
        run_case(s, "all-equal", c, 129, 1.2f, 0.75f, true);
    }
    {
        // Postings skewed onto one lane (docs = 8i + 3): every beat has a single valid slot.
        Corpus c = random_corpus(g, 4096, 2, 10, 100, 0.0);
        for (int d = 3; d < c.num_docs; d += 8) c.post[0].push_back({d, 1 + d % 5});
        run_case(s, "one-lane-skew", c, 32);
    }
    return s.finish();
}
