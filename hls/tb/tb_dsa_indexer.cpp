// tb_dsa_indexer.cpp -- testbench of dsa_indexer / dsa_indexer_score against a plain
// triple loop (integer path: scores and id sets must match exactly).
#include "dsa_indexer.h"
#include "tb_common.h"

typedef std::vector<std::vector<short> > Rows;

struct Problem {
    int heads, dim;
    Rows q;               // [heads][dim]
    std::vector<short> w;  // [heads]
    Rows keys;            // [num_keys][dim]
};

static std::vector<long long> reference(const Problem& p) {
    std::vector<long long> s(p.keys.size());
    for (size_t i = 0; i < p.keys.size(); ++i) {
        long long acc = 0;
        for (int h = 0; h < p.heads; ++h) {
            long long d = 0;
            for (int j = 0; j < p.dim; ++j) d += (long long)p.q[h][j] * p.keys[i][j];
            acc += (long long)p.w[h] * std::max(d, 0LL);
        }
        s[i] = acc;
    }
    return s;
}

static void pack(const std::vector<Problem>& ps, std::vector<beat_t>& qw, std::vector<beat_t>& keys) {
    for (const auto& p : ps) {
        tb::pack_rows16(p.q, p.dim, qw);
        std::vector<std::vector<short> > wrow(1, p.w);
        tb::pack_rows16(wrow, p.heads, qw);
        tb::pack_rows16(p.keys, p.dim, keys);
    }
}

static void run_case(tb::Suite& s, const std::string& label, const std::vector<Problem>& ps, int k) {
    const int batch = int(ps.size()), n = int(ps[0].keys.size()), h = ps[0].heads, dim = ps[0].dim;
    std::vector<beat_t> qw, keys;
    pack(ps, qw, keys);
    const int kk = std::min(std::max(k, 1), DSA_KMAX), ob = ceil_div(kk, 16);
    std::vector<beat_t> ids(batch * ob + 1), sc(batch * ceil_div(n, 8) + 1);
    dsa_indexer(qw.data(), keys.data(), ids.data(), batch, n, h, dim, k);
    dsa_indexer_score(qw.data(), keys.data(), sc.data(), batch, n, h, dim);
    bool ok = true;
    std::string why;
    for (int b = 0; b < batch && ok; ++b) {
        const std::vector<long long> ref = reference(ps[b]);
        for (int i = 0; i < n && ok; ++i) {
            const long long got = (long long)lane_s<64>(sc[b * ceil_div(n, 8) + i / 8], i % 8);
            if (got != ref[i]) {
                ok = false;
                why = tb::fmt("row %d: score of key %d is %lld, expected %lld", b, i, got, ref[i]);
            }
        }
        if (ok) ok = tb::same_set(tb::unpack_i32(&ids[b * ob], kk), tb::ref_topk(ref, kk), kk, &why);
    }
    s.check(ok, tb::fmt("%s keys=%d heads=%d dim=%d k=%d batch=%d", label.c_str(), n, h, dim, k, batch), why);
}

static Problem random_problem(std::mt19937_64& g, int n, int heads, int dim, int lo = -128, int hi = 127) {
    Problem p;
    p.heads = heads, p.dim = dim;
    p.q = tb::rand_rows16(g, heads, dim, lo, hi);
    p.w = tb::rand_rows16(g, 1, heads, 0, 2000)[0];
    p.keys = tb::rand_rows16(g, n, dim, lo, hi);
    return p;
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        // Key s holds the value v_s in every dim, q = 1, w = 1: score = heads * dim * v_s, so the
        // order of v (asc/desc/random) fixes the top-k hit pattern.
        tb::Args a(argc, argv, 2);
        const int batch = a.get("batch", 1), n = a.get("num_keys", 1000), heads = a.get("num_heads", 64),
                  dim = a.get("head_dim", 128), k = a.get("k", 2048);
        std::vector<Problem> ps(batch);
        for (int b = 0; b < batch; ++b) {
            Problem& p = ps[b];
            p.heads = heads, p.dim = dim;
            p.q.assign(heads, std::vector<short>(dim, 1));
            p.w.assign(heads, 1);
            std::vector<long long> v = tb::order_values(n, a.str("order", "random"), 99 + b);
            for (int i = 0; i < n; ++i) p.keys.push_back(std::vector<short>(dim, short(v[i] % 32768)));
        }
        std::vector<beat_t> qw, keys;
        std::vector<beat_t> out(batch * std::max(ceil_div(std::min(k, DSA_KMAX), 16), ceil_div(n, 8)) + 1);
        const std::string elem = a.str("elem", "int16");
        if (elem != "int16") {  // score path with another element width: q = 1, key s = v_s
            const int bits = elem == "int8" ? 8 : (elem == "int32" ? 32 : 0);
            if (!bits) {
                std::printf("elem must be int8, int16 or int32\n");
                return 2;
            }
            const int epb = 512 / bits, bpk = ceil_div(dim, epb);
            for (const auto& p : ps) {
                for (int h = 0; h < heads; ++h)
                    for (int c = 0; c < bpk; ++c) {
                        beat_t b = 0;
                        for (int j = 0; j < epb && c * epb + j < dim; ++j) b.range(bits * j + bits - 1, bits * j) = 1;
                        qw.push_back(b);
                    }
                std::vector<std::vector<short> > wrow(1, p.w);
                tb::pack_rows16(wrow, heads, qw);
                for (const auto& key : p.keys)
                    for (int c = 0; c < bpk; ++c) {
                        beat_t b = 0;
                        for (int j = 0; j < epb && c * epb + j < dim; ++j)
                            b.range(bits * j + bits - 1, bits * j) = ap_int<32>(key[0] % 100);
                        keys.push_back(b);
                    }
            }
            tb::reset_counts();
            if (bits == 8) dsa_indexer_score_t<signed char>(qw.data(), keys.data(), out.data(), batch, n, heads, dim);
            else dsa_indexer_score_t<int>(qw.data(), keys.data(), out.data(), batch, n, heads, dim);
            tb::print_counts();
            return 0;
        }
        pack(ps, qw, keys);
        tb::reset_counts();
        if (a.str("variant", "fused") == "score") dsa_indexer_score(qw.data(), keys.data(), out.data(), batch, n, heads, dim);
        else dsa_indexer(qw.data(), keys.data(), out.data(), batch, n, heads, dim, k);
        tb::print_counts();
        return 0;
    }
    tb::Suite s("dsa_indexer");
    std::mt19937_64 g(7);
    // DeepSeek-V3.2 shape (64 heads x 128 dims), key count not a multiple of 16.
    run_case(s, "random", {random_problem(g, 3001, 64, 128), random_problem(g, 3001, 64, 128)}, 2048);
    run_case(s, "random-small-k", {random_problem(g, 777, 64, 128)}, 64);
    // head_dim not a multiple of the 32-lane beat, odd head count (weights span 1 beat).
    run_case(s, "odd-dims", {random_problem(g, 501, 7, 100)}, 50);
    run_case(s, "extreme-int16", {random_problem(g, 300, 64, 128, -32768, 32767)}, 40);
    // K = L and K > L.
    run_case(s, "k-equals-n", {random_problem(g, 640, 16, 128)}, 640);
    run_case(s, "k-greater-than-n", {random_problem(g, 100, 16, 64)}, 128);
    // All keys identical: all scores equal, lower index must win.
    {
        Problem p = random_problem(g, 1000, 64, 128);
        for (auto& key : p.keys) key = p.keys[0];
        run_case(s, "all-equal", {p}, 300);
    }
    // q = -k for every head: every dot is <= 0, ReLU zeroes everything (all-zero ties).
    {
        Problem p = random_problem(g, 600, 8, 128, 1, 100);
        for (auto& row : p.q)
            for (auto& x : row) x = short(-x);
        run_case(s, "relu-all-zero", {p}, 100);
    }
    // Ties from few distinct keys.
    {
        Problem p = random_problem(g, 2000, 32, 128);
        Rows few = tb::rand_rows16(g, 5, 128, -128, 127);
        std::uniform_int_distribution<int> pick(0, 4);
        for (auto& key : p.keys) key = few[pick(g)];
        run_case(s, "ties", {p}, 777);
    }
    return s.finish();
}
