// tb_dsa_vanilla.cpp -- testbench of the study's vanilla DSA indexer: scores against a plain
// triple loop (integer dot products, float head weights), top-k id set against a sort.
//   tb_dsa_vanilla                                  test suite
//   tb_dsa_vanilla count keys=N k=K ports=P head_dim=D elem=int8|int16|fp32 seed=S
#include "dsa_vanilla.h"
#include "tb_common.h"

template <int P, typename T>
static int run(int n, int dim, int k, unsigned seed, const std::string& order, std::vector<int>* ids,
               std::vector<float>* scores, std::vector<float>* ref) {
    typedef DsavLine<T, 256> Line;
    const int KL = Line::LANES, H = 16, DPE = ceil_div(dim, P), QL = ceil_div(H, KL);
    std::mt19937_64 g(seed);
    std::uniform_int_distribution<int> u(-100, 100);
    std::uniform_real_distribution<float> uw(0.0f, 2.0f);
    std::vector<std::vector<int> > q(dim, std::vector<int>(H));
    for (auto& r : q) for (auto& x : r) x = u(g);
    std::vector<std::vector<int> > key(n, std::vector<int>(dim));
    for (auto& r : key) for (auto& x : r) x = u(g);
    float w[16];
    for (auto& x : w) x = uw(g);
    const int rounds = ceil_div(n, KL);
    std::vector<std::vector<Line> > mem(P, std::vector<Line>(DPE * QL + (size_t)rounds * DPE));
    for (int c = 0; c < P; ++c) {
        for (auto& l : mem[c]) for (int x = 0; x < KL; ++x) l.v[x] = T(0);
        for (int j = 0; j < DPE; ++j) {
            const int d = c + j * P;
            for (int h = 0; h < H; ++h) mem[c][j * QL + h / KL].v[h % KL] = d < dim ? T(q[d][h]) : T(0);
            for (int r = 0; r < rounds; ++r)
                for (int x = 0; x < KL; ++x) {
                    const int s = r * KL + x;
                    mem[c][DPE * QL + (size_t)r * DPE + j].v[x] = (d < dim && s < n) ? T(key[s][d]) : T(0);
                }
        }
    }
    const Line* ports[P];
    for (int c = 0; c < P; ++c) ports[c] = mem[c].data();
    const int kk = std::min(std::max(k, 1), 2048);
    ids->assign(kk, -1);
    scores->assign(n, 0.0f);
    dsa_vanilla_t<P, 16, T, 256, 2048>(ports, w, ids->data(), n, dim, k, scores->data());
    ref->assign(n, 0.0f);
    for (int s = 0; s < n; ++s) {
        float acc = 0.0f;
        for (int h = 0; h < H; ++h) {
            long long dot = 0;
            for (int d = 0; d < dim; ++d) dot += (long long)q[d][h] * key[s][d];
            acc += w[h] * (dot > 0 ? float(dot) : 0.0f);
        }
        (*ref)[s] = acc;
    }
    return kk;
}

template <int P, typename T>
static void check(tb::Suite& s, int n, int dim, int k, unsigned seed, const char* label) {
    std::vector<int> ids;
    std::vector<float> sc, ref;
    const int kk = run<P, T>(n, dim, k, seed, "random", &ids, &sc, &ref);
    std::string why;
    bool ok = true;
    for (int i = 0; i < n && ok; ++i)
        if (std::abs(sc[i] - ref[i]) > 1e-4f * std::max(1.0f, std::abs(ref[i]))) {
            ok = false;
            why = tb::fmt("score of key %d is %g, expected %g", i, double(sc[i]), double(ref[i]));
        }
    if (ok) ok = tb::same_set(ids, tb::ref_topk(sc, kk), kk, &why);
    s.check(ok, tb::fmt("%s ports=%d keys=%d dim=%d k=%d", label, P, n, dim, k), why);
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        const int n = int(a.get("keys", 4096)), k = int(a.get("k", 2048)), p = int(a.get("ports", 8));
        const int dim = int(a.get("head_dim", 128));
        const std::string elem = a.str("elem", "int16"), order = "random";
        const unsigned seed = unsigned(a.get("seed", 7));
        std::vector<int> ids;
        std::vector<float> sc, ref;
        tb::reset_counts();
        if (p == 8 && elem == "int16") run<8, short>(n, dim, k, seed, order, &ids, &sc, &ref);
        else if (p == 4 && elem == "int16") run<4, short>(n, dim, k, seed, order, &ids, &sc, &ref);
        else if (p == 8 && elem == "int8") run<8, signed char>(n, dim, k, seed, order, &ids, &sc, &ref);
        else if (p == 8 && elem == "fp32") run<8, float>(n, dim, k, seed, order, &ids, &sc, &ref);
        else {
            std::printf("unsupported ports=%d elem=%s (built: 8/int16, 4/int16, 8/int8, 8/fp32)\n", p, elem.c_str());
            return 2;
        }
        tb::print_counts();
        return 0;
    }
    tb::Suite s("dsa_vanilla");
    check<8, short>(s, 1000, 128, 64, 1, "int16");
    check<8, short>(s, 4096, 128, 2048, 2, "int16");
    check<4, short>(s, 777, 100, 37, 3, "int16");
    check<8, signed char>(s, 512, 128, 16, 4, "int8");
    check<8, float>(s, 300, 128, 300, 5, "fp32");
    return s.finish();
}
