// tb_page_bound.cpp -- testbench of page_bound: builds kmin/kmax from real pages of keys, checks
// the bound against a plain loop, that it really bounds every key's q.k, and the top-k set.
#include "page_bound.h"
#include "tb_common.h"

typedef std::vector<std::vector<short> > Rows;

struct Problem {
    std::vector<short> q;
    Rows kmin, kmax;
};

// Pages of page_size random keys (the last page may be partial) -> per-page min/max.
static Problem make_problem(std::mt19937_64& g, int num_keys, int page_size, int dim, int lo, int hi,
                            bool* bound_ok) {
    Problem p;
    p.q = tb::rand_rows16(g, 1, dim, lo, hi)[0];
    Rows keys = tb::rand_rows16(g, num_keys, dim, lo, hi);
    *bound_ok = true;
    for (int s = 0; s < num_keys; s += page_size) {
        std::vector<short> mn(dim, 32767), mx(dim, -32768);
        for (int t = s; t < std::min(num_keys, s + page_size); ++t)
            for (int d = 0; d < dim; ++d) mn[d] = std::min(mn[d], keys[t][d]), mx[d] = std::max(mx[d], keys[t][d]);
        p.kmin.push_back(mn);
        p.kmax.push_back(mx);
    }
    return p;
}

static std::vector<long long> reference(const Problem& p) {
    std::vector<long long> s;
    for (size_t i = 0; i < p.kmin.size(); ++i) {
        long long a = 0;
        for (size_t d = 0; d < p.q.size(); ++d)
            a += std::max((long long)p.q[d] * p.kmin[i][d], (long long)p.q[d] * p.kmax[i][d]);
        s.push_back(a);
    }
    return s;
}

static void run_case(tb::Suite& s, const std::string& label, const std::vector<Problem>& ps, int k) {
    const int batch = int(ps.size()), np = int(ps[0].kmin.size()), dim = int(ps[0].q.size());
    std::vector<beat_t> qb, lo, hi;
    for (const auto& p : ps) {
        tb::pack_rows16(Rows(1, p.q), dim, qb);
        tb::pack_rows16(p.kmin, dim, lo);
        tb::pack_rows16(p.kmax, dim, hi);
    }
    const int kk = std::min(std::max(k, 1), PB_KMAX), ob = ceil_div(kk, 16);
    std::vector<beat_t> out(batch * ob + 1);
    page_bound(qb.data(), lo.data(), hi.data(), out.data(), batch, np, dim, k);
    bool ok = true;
    std::string why;
    for (int b = 0; b < batch && ok; ++b) {
        ok = tb::same_set(tb::unpack_i32(&out[b * ob], kk), tb::ref_topk(reference(ps[b]), kk), kk, &why);
        if (!ok) why = tb::fmt("row %d: ", b) + why;
    }
    s.check(ok, tb::fmt("%s pages=%d dim=%d k=%d batch=%d", label.c_str(), np, dim, k, batch), why);
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        const int batch = a.get("batch", 1), np = a.get("num_pages", 1000), dim = a.get("head_dim", 128),
                  k = a.get("k", 64);
        std::vector<beat_t> qb, lo, hi;
        tb::pack_rows16(Rows(batch, std::vector<short>(dim, 1)), dim, qb);
        for (int b = 0; b < batch; ++b) {
            std::vector<long long> v = tb::order_values(np, a.str("order", "random"), 3 + b);
            Rows r;
            for (int i = 0; i < np; ++i) r.push_back(std::vector<short>(dim, short(v[i] % 32768)));
            tb::pack_rows16(r, dim, lo);
            tb::pack_rows16(r, dim, hi);
        }
        std::vector<beat_t> out(batch * ceil_div(std::min(k, PB_KMAX), 16) + 1);
        tb::reset_counts();
        page_bound(qb.data(), lo.data(), hi.data(), out.data(), batch, np, dim, k);
        tb::print_counts();
        return 0;
    }
    tb::Suite s("page_bound");
    std::mt19937_64 g(3);
    bool bound_ok;
    // The bound must dominate q.k of every key in its page: check on one problem directly.
    {
        std::mt19937_64 g2(5);
        Rows keys = tb::rand_rows16(g2, 64, 128, -300, 300);
        std::vector<short> q = tb::rand_rows16(g2, 1, 128, -300, 300)[0];
        Problem p;
        p.q = q;
        std::vector<short> mn(128, 32767), mx(128, -32768);
        for (auto& kv : keys)
            for (int d = 0; d < 128; ++d) mn[d] = std::min(mn[d], kv[d]), mx[d] = std::max(mx[d], kv[d]);
        p.kmin.push_back(mn), p.kmax.push_back(mx);
        const long long ub = reference(p)[0];
        bool dominated = true;
        for (auto& kv : keys) {
            long long d = 0;
            for (int j = 0; j < 128; ++j) d += (long long)q[j] * kv[j];
            dominated &= d <= ub;
        }
        s.check(dominated, "reference-bound-dominates-keys");
    }
    run_case(s, "random", {make_problem(g, 16000, 16, 128, -1000, 1000, &bound_ok),
                           make_problem(g, 16000, 16, 128, -1000, 1000, &bound_ok)}, 64);
    run_case(s, "partial-last-page", {make_problem(g, 8191, 8, 128, -1000, 1000, &bound_ok)}, 100);
    run_case(s, "odd-dim", {make_problem(g, 3000, 16, 72, -1000, 1000, &bound_ok)}, 33);
    run_case(s, "extreme-int16", {make_problem(g, 2000, 16, 256, -32768, 32767, &bound_ok)}, 20);
    run_case(s, "k-equals-n", {make_problem(g, 512 * 8, 8, 128, -100, 100, &bound_ok)}, 512);
    run_case(s, "k-greater-than-n", {make_problem(g, 50 * 16, 16, 128, -100, 100, &bound_ok)}, 64);
    {
        Problem p = make_problem(g, 4000, 16, 128, -100, 100, &bound_ok);
        for (size_t i = 0; i < p.kmin.size(); ++i) p.kmin[i] = p.kmin[0], p.kmax[i] = p.kmax[0];
        run_case(s, "all-equal", {p}, 50);
    }
    {
        // Single-key pages (kmin = kmax) with few distinct keys: heavy ties.
        Problem p = make_problem(g, 3000, 1, 128, -3, 3, &bound_ok);
        run_case(s, "ties", {p}, 300);
    }
    {
        // All-negative q: the kmin branch decides every term.
        Problem p = make_problem(g, 4000, 16, 128, -500, 500, &bound_ok);
        for (auto& x : p.q) x = short(-std::abs(int(x)) - 1);
        run_case(s, "negative-q", {p}, 40);
    }
    return s.finish();
}
