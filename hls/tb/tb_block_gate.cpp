// tb_block_gate.cpp -- testbench of block_gate: scores, threshold bitmap (strict '>') and the
// token-budget block set against plain loops (integer path: exact).
#include "block_gate.h"
#include "tb_common.h"

typedef std::vector<std::vector<short> > Rows;

static std::vector<long long> reference(const std::vector<short>& q, const Rows& pooled) {
    std::vector<long long> s;
    for (const auto& x : pooled) {
        long long a = 0;
        for (size_t d = 0; d < q.size(); ++d) a += (long long)q[d] * x[d];
        s.push_back(a);
    }
    return s;
}

static void run_case(tb::Suite& s, const std::string& label, const Rows& qs, const std::vector<Rows>& pooled,
                     int num_keys, int block_size, int budget, long long threshold) {
    const int batch = int(qs.size()), dim = int(qs[0].size()), nblocks = ceil_div(num_keys, block_size);
    std::vector<beat_t> qb, pb;
    tb::pack_rows16(qs, dim, qb);
    for (const auto& p : pooled) tb::pack_rows16(p, dim, pb);
    const int kb = bg_budget_blocks(budget, block_size), ob = ceil_div(kb, 16), mb = ceil_div(nblocks, 512);
    std::vector<beat_t> out(batch * (ob + mb) + 1);
    block_gate(qb.data(), pb.data(), out.data(), batch, num_keys, block_size, dim, budget, threshold);
    bool ok = true;
    std::string why;
    for (int b = 0; b < batch && ok; ++b) {
        const std::vector<long long> ref = reference(qs[b], pooled[b]);
        const beat_t* row = &out[b * (ob + mb)];
        for (int i = 0; i < nblocks && ok; ++i) {
            const bool got = row[ob + i / 512][i % 512] == 1, want = ref[i] > threshold;
            if (got != want) {
                ok = false;
                why = tb::fmt("row %d: bitmap bit %d is %d, expected %d (score %lld, threshold %lld)", b, i, got,
                              want, ref[i], threshold);
            }
        }
        if (ok) ok = tb::same_set(tb::unpack_i32(row, kb), tb::ref_topk(ref, kb), kb, &why);
        if (!ok) why = tb::fmt("row %d: ", b) + why;
    }
    s.check(ok, tb::fmt("%s keys=%d block=%d dim=%d budget=%d (kb=%d) batch=%d", label.c_str(), num_keys,
                        block_size, dim, budget, kb, batch), why);
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        const int batch = a.get("batch", 1), nk = a.get("num_keys", 65536), bs = a.get("block_size", 64),
                  dim = a.get("head_dim", 128), budget = a.get("budget", 4096);
        const int nb = ceil_div(nk, bs);
        std::vector<beat_t> qb, pb;
        tb::pack_rows16(Rows(batch, std::vector<short>(dim, 1)), dim, qb);
        for (int b = 0; b < batch; ++b) {
            std::vector<long long> v = tb::order_values(nb, a.str("order", "random"), 17 + b);
            Rows r;
            for (int i = 0; i < nb; ++i) r.push_back(std::vector<short>(dim, short(v[i] % 32768)));
            tb::pack_rows16(r, dim, pb);
        }
        std::vector<beat_t> out(batch * (ceil_div(bg_budget_blocks(budget, bs), 16) + ceil_div(nb, 512)) + 1);
        tb::reset_counts();
        block_gate(qb.data(), pb.data(), out.data(), batch, nk, bs, dim, budget, 0);
        tb::print_counts();
        return 0;
    }
    tb::Suite s("block_gate");
    std::mt19937_64 g(13);
    auto pooled = [&](int b, int nblocks, int dim, int lo = -500, int hi = 500) {
        std::vector<Rows> r;
        for (int i = 0; i < b; ++i) r.push_back(tb::rand_rows16(g, nblocks, dim, lo, hi));
        return r;
    };
    // 100k tokens in blocks of 64 (1563 blocks, last one partial), budget 4096 tokens (64 blocks).
    run_case(s, "random", tb::rand_rows16(g, 2, 128, -500, 500), pooled(2, 1563, 128), 100000, 64, 4096, 0);
    run_case(s, "high-threshold", tb::rand_rows16(g, 1, 128, -500, 500), pooled(1, 1563, 128), 100000, 64, 8192,
             3000000);
    run_case(s, "odd-dim", tb::rand_rows16(g, 1, 50, -500, 500), pooled(1, 700, 50), 700 * 32 - 5, 32, 1000, -10);
    run_case(s, "budget-below-one-block", tb::rand_rows16(g, 1, 128, -500, 500), pooled(1, 300, 128), 300 * 64, 64,
             10, 0);
    run_case(s, "k-equals-n", tb::rand_rows16(g, 1, 128, -500, 500), pooled(1, 256, 128), 256 * 16, 16, 4096, 0);
    run_case(s, "k-greater-than-n", tb::rand_rows16(g, 1, 128, -500, 500), pooled(1, 20, 128), 20 * 64, 64, 4096, 0);
    {
        // Threshold exactly equal to some scores (strict '>' must exclude them) and heavy ties.
        Rows q = tb::rand_rows16(g, 1, 64, -2, 2);
        std::vector<Rows> p = pooled(1, 2000, 64, -2, 2);
        const long long thr = reference(q[0], p[0])[7];
        run_case(s, "threshold-equals-score", q, p, 2000 * 128, 128, 128 * 100, thr);
    }
    {
        Rows q = tb::rand_rows16(g, 1, 128, -500, 500);
        std::vector<Rows> p = pooled(1, 1200, 128);
        for (auto& x : p[0]) x = p[0][0];
        run_case(s, "all-equal", q, p, 1200 * 64, 64, 64 * 80, reference(q[0], p[0])[0] - 1);
    }
    return s.finish();
}
