// tb_inner_product_topk.cpp -- testbench of inner_product_topk against a plain dot-product loop
// and std::sort (integer path: exact id sets).
#include "inner_product_topk.h"
#include "tb_common.h"

typedef std::vector<std::vector<short> > Rows;

static std::vector<long long> reference(const std::vector<short>& q, const Rows& items) {
    std::vector<long long> s;
    for (const auto& x : items) {
        long long a = 0;
        for (size_t d = 0; d < q.size(); ++d) a += (long long)q[d] * x[d];
        s.push_back(a);
    }
    return s;
}

// batch rows: qs[b] against items[b] (shared = all rows use items[0] with item_stride 0).
static void run_case(tb::Suite& s, const std::string& label, const Rows& qs, const std::vector<Rows>& items,
                     int k, bool shared = false) {
    const int batch = int(qs.size()), n = int(items[0].size()), dim = int(qs[0].size());
    const int bpr = ceil_div(dim, 32);
    std::vector<beat_t> qb, ib;
    tb::pack_rows16(qs, dim, qb);
    for (int b = 0; b < (shared ? 1 : batch); ++b) tb::pack_rows16(items[b], dim, ib);
    const int kk = std::min(std::max(k, 1), IP_KMAX), ob = ceil_div(kk, 16);
    std::vector<beat_t> out(batch * ob + 1);
    inner_product_topk(qb.data(), ib.data(), out.data(), batch, n, dim, k, shared ? 0 : n * bpr);
    bool ok = true;
    std::string why;
    for (int b = 0; b < batch && ok; ++b) {
        ok = tb::same_set(tb::unpack_i32(&out[b * ob], kk),
                          tb::ref_topk(reference(qs[b], items[shared ? 0 : b]), kk), kk, &why);
        if (!ok) why = tb::fmt("row %d: ", b) + why;
    }
    s.check(ok, tb::fmt("%s items=%d dim=%d k=%d batch=%d", label.c_str(), n, dim, k, batch), why);
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        const int batch = a.get("batch", 1), n = a.get("num_items", 1000), dim = a.get("dim", 128),
                  k = a.get("k", 64);
        Rows qs(batch, std::vector<short>(dim, 1));
        std::vector<beat_t> qb, ib;
        tb::pack_rows16(qs, dim, qb);
        for (int b = 0; b < batch; ++b) {
            std::vector<long long> v = tb::order_values(n, a.str("order", "random"), 5 + b);
            Rows items;
            for (int i = 0; i < n; ++i) items.push_back(std::vector<short>(dim, short(v[i] % 32768)));
            tb::pack_rows16(items, dim, ib);
        }
        std::vector<beat_t> out(batch * ceil_div(std::min(k, IP_KMAX), 16) + 1);
        tb::reset_counts();
        inner_product_topk(qb.data(), ib.data(), out.data(), batch, n, dim, k, n * ceil_div(dim, 32));
        tb::print_counts();
        return 0;
    }
    tb::Suite s("inner_product_topk");
    std::mt19937_64 g(11);
    auto items = [&](int b, int n, int dim, int lo = -1000, int hi = 1000) {
        std::vector<Rows> r;
        for (int i = 0; i < b; ++i) r.push_back(tb::rand_rows16(g, n, dim, lo, hi));
        return r;
    };
    run_case(s, "random", tb::rand_rows16(g, 3, 128, -1000, 1000), items(3, 4001, 128), 256);
    run_case(s, "random-dim-768", tb::rand_rows16(g, 1, 768, -300, 300), items(1, 1500, 768), 64);
    run_case(s, "odd-dim", tb::rand_rows16(g, 2, 45, -1000, 1000), items(2, 999, 45), 17);
    run_case(s, "shared-table", tb::rand_rows16(g, 4, 64, -1000, 1000), items(1, 800, 64), 32, true);
    run_case(s, "extreme-int16", tb::rand_rows16(g, 1, 1024, -32768, 32767), items(1, 300, 1024, -32768, 32767), 10);
    run_case(s, "k-equals-n", tb::rand_rows16(g, 1, 96, -50, 50), items(1, 256, 96), 256);
    run_case(s, "k-greater-than-n", tb::rand_rows16(g, 1, 96, -50, 50), items(1, 37, 96), 64);
    {
        std::vector<Rows> it = items(1, 2000, 128);
        for (auto& x : it[0]) x = it[0][0];
        run_case(s, "all-equal", tb::rand_rows16(g, 1, 128, -50, 50), it, 100);
    }
    {
        std::vector<Rows> it = items(1, 3000, 33, -2, 2);  // tiny range: many equal scores
        run_case(s, "ties", tb::rand_rows16(g, 1, 33, -1, 1), it, 200);
    }
    return s.finish();
}
