// tb_engram_gather.cpp -- testbench of engram_gather: an independent re-implementation of the
// hash (written out from the header's formula, not calling eg_mix) and a plain row copy.
#include "engram_gather.h"
#include "tb_common.h"

struct Setup {
    int heads, row_elems, pad;
    std::vector<unsigned> rows;                    // per head
    std::vector<std::vector<short> > table[EG_MAX_HEADS];  // [row][elem]
};

static unsigned ref_row(const std::vector<int>& tok, int t, int h, const Setup& s) {
    auto at = [&](int i) { return i < 0 ? unsigned(s.pad) : unsigned(tok[i]); };
    const bool trigram = h >= (s.heads + 1) / 2;  // 2h >= heads
    unsigned m = at(t) * 0x9E3779B1u;
    m ^= at(t - 1) * 0x85EBCA77u;
    if (trigram) m ^= at(t - 2) * 0xC2B2AE3Du;
    m ^= unsigned(h + 1) * 0x27D4EB2Fu;
    return m % s.rows[h];
}

static void run_case(tb::Suite& su, const std::string& label, const Setup& s, const std::vector<int>& tok) {
    const int n = int(tok.size()), bpr = ceil_div(s.row_elems, 32);
    std::vector<beat_t> tokens(ceil_div(std::max(n, 1), 16), 0), meta(2, 0), tab[EG_GROUPS], out[EG_GROUPS];
    for (int i = 0; i < n; ++i) set_lane<32>(tokens[i / 16], i % 16, tok[i]);
    for (int h = 0; h < s.heads; ++h) {
        std::vector<beat_t>& tb_g = tab[h % EG_GROUPS];
        ap_uint<64> m = 0;
        m.range(31, 0) = s.rows[h];
        m.range(63, 32) = unsigned(tb_g.size());
        meta[h / 8].range(64 * (h % 8) + 63, 64 * (h % 8)) = m;
        tb::pack_rows16(s.table[h], s.row_elems, tb_g);
    }
    for (int g = 0; g < EG_GROUPS; ++g) {
        const int hg = s.heads > g ? ceil_div(s.heads - g, EG_GROUPS) : 0;
        out[g].assign(std::max(n * hg * bpr, 1), 0);
        if (tab[g].empty()) tab[g].push_back(0);
    }
    engram_gather(tokens.data(), meta.data(), tab[0].data(), tab[1].data(), tab[2].data(), tab[3].data(),
                  out[0].data(), out[1].data(), out[2].data(), out[3].data(), n, s.heads, s.row_elems, s.pad);
    bool ok = true;
    std::string why;
    for (int t = 0; t < n && ok; ++t)
        for (int h = 0; h < s.heads && ok; ++h) {
            const int g = h % EG_GROUPS, j = h / EG_GROUPS, hg = ceil_div(s.heads - g, EG_GROUPS);
            const unsigned r = ref_row(tok, t, h, s);
            for (int e = 0; e < s.row_elems && ok; ++e) {
                const short got = short(lane_s<16>(out[g][(long(t) * hg + j) * bpr + e / 32], e % 32));
                if (got != s.table[h][r][e]) {
                    ok = false;
                    why = tb::fmt("token %d head %d elem %d: got %d, expected %d (row %u)", t, h, e, got,
                                  s.table[h][r][e], r);
                }
            }
        }
    su.check(ok, tb::fmt("%s tokens=%d heads=%d row_elems=%d", label.c_str(), n, s.heads, s.row_elems), why);
}

static Setup make_setup(std::mt19937_64& g, int heads, int row_elems, int pad) {
    static const unsigned primes[EG_MAX_HEADS] = {1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049,
                                                  1051, 1061, 1063, 1069, 1087, 1091, 1093, 1097};
    Setup s;
    s.heads = heads, s.row_elems = row_elems, s.pad = pad;
    for (int h = 0; h < heads; ++h) {
        s.rows.push_back(primes[h]);
        s.table[h] = tb::rand_rows16(g, primes[h], row_elems, -32768, 32767);
    }
    return s;
}

int main(int argc, char** argv) {
    if (tb::count_mode(argc, argv)) {
        tb::Args a(argc, argv, 2);
        std::mt19937_64 g(1);
        const int n = a.get("num_tokens", 256), heads = a.get("num_heads", 16), re = a.get("row_elems", 64);
        Setup s = make_setup(g, heads, re, 2);
        std::vector<int> tok(n);
        for (int i = 0; i < n; ++i) tok[i] = int(g() % 129280);
        const int bpr = ceil_div(re, 32);
        std::vector<beat_t> tokens(ceil_div(std::max(n, 1), 16), 0), meta(2, 0), tab[EG_GROUPS], out[EG_GROUPS];
        for (int i = 0; i < n; ++i) set_lane<32>(tokens[i / 16], i % 16, tok[i]);
        for (int h = 0; h < heads; ++h) {
            ap_uint<64> m = 0;
            m.range(31, 0) = s.rows[h];
            m.range(63, 32) = unsigned(tab[h % EG_GROUPS].size());
            meta[h / 8].range(64 * (h % 8) + 63, 64 * (h % 8)) = m;
            tb::pack_rows16(s.table[h], re, tab[h % EG_GROUPS]);
        }
        for (int q = 0; q < EG_GROUPS; ++q) {
            out[q].assign(std::max(n * ceil_div(heads, EG_GROUPS) * bpr, 1), 0);
            if (tab[q].empty()) tab[q].push_back(0);
        }
        tb::reset_counts();
        engram_gather(tokens.data(), meta.data(), tab[0].data(), tab[1].data(), tab[2].data(), tab[3].data(),
                      out[0].data(), out[1].data(), out[2].data(), out[3].data(), n, heads, re, 2);
        tb::print_counts();
        return 0;
    }
    tb::Suite su("engram_gather");
    std::mt19937_64 g(31);
    auto tokens = [&](int n, int vocab) {
        std::vector<int> t(n);
        for (auto& x : t) x = int(g() % unsigned(vocab));
        return t;
    };
    run_case(su, "random", make_setup(g, 16, 64, 2), tokens(1000, 129280));
    run_case(su, "single-token(pad history)", make_setup(g, 16, 64, 2), tokens(1, 129280));
    run_case(su, "two-tokens", make_setup(g, 16, 64, 7), tokens(2, 129280));
    run_case(su, "odd-row-elems", make_setup(g, 16, 40, 2), tokens(333, 129280));
    run_case(su, "odd-head-count", make_setup(g, 5, 96, 2), tokens(77, 129280));
    run_case(su, "one-head", make_setup(g, 1, 256, 0), tokens(50, 1000));
    run_case(su, "repeated-token", make_setup(g, 16, 64, 2), std::vector<int>(100, 42));
    run_case(su, "max-token-ids", make_setup(g, 16, 32, 2), std::vector<int>(64, 2147483647));
    return su.finish();
}
