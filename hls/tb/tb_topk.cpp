// tb_topk.cpp -- testbench of the standalone top-k kernel against std::sort.
#include "tb_common.h"
#include "topk.h"

static std::vector<beat_t> pack_rows(const std::vector<std::vector<float>>& rows, int n) {
    const int nb = ceil_div(n, 16);
    std::vector<beat_t> b(rows.size() * nb + 1, 0);
    for (size_t r = 0; r < rows.size(); ++r)
        for (int i = 0; i < n; ++i) set_lane<32>(b[r * nb + i / 16], i % 16, float_bits(rows[r][i]));
    return b;
}

// Run the kernel on `rows` and compare every row with the reference (ids exact, scores exact:
// the kernel only moves float bits).
static void run_case(tb::Suite& s, const std::string& label, const std::vector<std::vector<float>>& rows,
                     int n, int k) {
    std::vector<beat_t> in = pack_rows(rows, n);
    const int kk = std::min(std::max(k, 1), TOPK_KMAX);
    const int ob = ceil_div(kk, 16);
    std::vector<beat_t> out(rows.size() * 2 * ob + 1, 0);
    topk(in.data(), out.data(), int(rows.size()), n, k);
    bool ok = true;
    std::string why;
    for (size_t r = 0; r < rows.size() && ok; ++r) {
        std::vector<int> hw = tb::unpack_i32(&out[r * 2 * ob], kk);
        ok = tb::same_set(hw, tb::ref_topk(rows[r], kk), kk, &why);
        for (int j = 0; ok && j < kk; ++j) {
            if (hw[j] < 0) continue;
            const float got = bits_float(lane_u<32>(out[r * 2 * ob + ob + j / 16], j % 16));
            if (float_bits(got) != float_bits(rows[r][hw[j]])) {
                ok = false;
                why = tb::fmt("score of id %d is %g, expected %g", hw[j], got, rows[r][hw[j]]);
            }
        }
        if (!ok) why = tb::fmt("row %zu: ", r) + why;
    }
    s.check(ok, tb::fmt("%s n=%d k=%d batch=%zu", label.c_str(), n, k, rows.size()), why);
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        const int batch = a.get("batch", 1), n = a.get("num_items", 1000), k = a.get("k", 64);
        std::vector<std::vector<float>> rows(batch);
        for (int r = 0; r < batch; ++r) {
            std::vector<long long> v = tb::order_values(n, a.str("order", "random"), 1234 + r);
            rows[r].assign(v.begin(), v.end());
        }
        std::vector<beat_t> in = pack_rows(rows, n);
        std::vector<beat_t> out(batch * 2 * ceil_div(std::min(k, TOPK_KMAX), 16) + 1);
        tb::reset_counts();
        topk(in.data(), out.data(), batch, n, k);
        tb::print_counts();
        return 0;
    }
    tb::Suite s("topk");
    std::mt19937_64 g(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_int_distribution<int> small(0, 7);
    auto rnd = [&](int n, bool coarse) {
        std::vector<float> v(n);
        for (auto& x : v) x = coarse ? float(small(g)) : u(g);
        return v;
    };
    // Random rows, several n/k, n not a multiple of the 16-lane beat.
    const int shapes[][2] = {{1000, 64}, {4099, 2048}, {20000, 2048}, {77, 16}, {513, 100}, {16, 16}, {33, 1}};
    for (auto& sh : shapes) run_case(s, "random", {rnd(sh[0], false), rnd(sh[0], false)}, sh[0], sh[1]);
    // Heavy ties (8 distinct values): the lower index must win.
    run_case(s, "ties", {rnd(3001, true), rnd(3001, true)}, 3001, 257);
    // All scores equal: the answer is ids 0..k-1.
    run_case(s, "all-equal", {std::vector<float>(1500, 0.5f)}, 1500, 300);
    // Signed zeros compare equal (tie broken by index).
    {
        std::vector<float> v(100, 0.0f);
        for (int i = 0; i < 100; i += 2) v[i] = -0.0f;
        run_case(s, "signed-zero", {v}, 100, 10);
    }
    // K = L, K > L (unfilled slots), ascending (every item replaces) and descending input.
    run_case(s, "k-equals-n", {rnd(2048, false)}, 2048, 2048);
    run_case(s, "k-greater-than-n", {rnd(45, false)}, 45, 64);
    {
        std::vector<float> asc(5000), desc(5000);
        for (int i = 0; i < 5000; ++i) asc[i] = float(i), desc[i] = float(5000 - i);
        run_case(s, "ascending", {asc}, 5000, 128);
        run_case(s, "descending", {desc}, 5000, 128);
    }
    // Extreme values.
    {
        std::vector<float> v = rnd(700, false);
        v[3] = 3.0e38f, v[650] = -3.0e38f, v[699] = 1e-38f;
        run_case(s, "extremes", {v}, 700, 5);
    }
    return s.finish();
}
