// hetsim_host.cpp -- XRT native-API host program: runs one hetsim kernel on an Alveo U55C with
// synthetic data in the kernel's HBM layout, times every run and appends CSV rows.
//
// Build (needs XRT, e.g. source /opt/xilinx/xrt/setup.sh):
//   g++ -std=c++17 -O2 -I$XILINX_XRT/include -L$XILINX_XRT/lib -o hetsim_host hetsim_host.cpp -lxrt_coreutil -pthread
// Run:
//   ./hetsim_host <xclbin> <kernel> [key=value ...] [runs=20] [warmup=3] [device=0] [csv=runs.csv]
//   e.g. ./hetsim_host hetsim.xclbin dsa_indexer batch=1 num_keys=65536 num_heads=64 head_dim=128 k=2048
// Shape keys are those of hetsim.fpga_kernels (see hls/README.md). CSV columns (header written
// when the file is new): kernel,shape,run,kernel_time_s,h2d_time_s,d2h_time_s,bytes_in,bytes_out,
// device,xclbin -- parsed by hetsim.ingest.xrt_csv.
//
// The data are random but structurally valid (in-range ids and table rows, a correctly packed
// BM25 index), so run times reflect the real access pattern; results are not checked here
// (correctness is the C-simulation testbenches' job).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

namespace {

const size_t BEAT = 64;

struct Arg {
    enum Kind { BUF_IN, BUF_OUT, I32, I64, F32 } kind;
    std::vector<uint8_t> data;  // buffers
    int64_t i = 0;
    float f = 0;
};

Arg in_buf(size_t beats) { return Arg{Arg::BUF_IN, std::vector<uint8_t>(std::max<size_t>(beats, 1) * BEAT, 0)}; }
Arg out_buf(size_t beats) { return Arg{Arg::BUF_OUT, std::vector<uint8_t>(std::max<size_t>(beats, 1) * BEAT, 0)}; }
Arg i32(int64_t v) { Arg a{Arg::I32, {}}; a.i = v; return a; }
Arg i64(int64_t v) { Arg a{Arg::I64, {}}; a.i = v; return a; }
Arg f32(float v) { Arg a{Arg::F32, {}}; a.f = v; return a; }
size_t cdiv(size_t a, size_t b) { return (a + b - 1) / b; }

std::mt19937_64 rng(12345);

void fill_i16(Arg& a, int lo, int hi) {
    std::uniform_int_distribution<int> u(lo, hi);
    int16_t* p = reinterpret_cast<int16_t*>(a.data.data());
    for (size_t i = 0; i < a.data.size() / 2; ++i) p[i] = int16_t(u(rng));
}
void fill_f32(Arg& a) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    float* p = reinterpret_cast<float*>(a.data.data());
    for (size_t i = 0; i < a.data.size() / 4; ++i) p[i] = u(rng);
}

struct Shape {
    std::map<std::string, long> kv;
    long get(const std::string& k) const {
        auto it = kv.find(k);
        if (it == kv.end()) throw std::runtime_error("missing shape key " + k);
        return it->second;
    }
    long get(const std::string& k, long d) const { auto it = kv.find(k); return it == kv.end() ? d : it->second; }
    std::string str() const {
        std::string s;
        for (auto& p : kv) s += (s.empty() ? "" : ";") + p.first + "=" + std::to_string(p.second);
        return s;
    }
};

// Argument list of each kernel, in the order of its top function (see hls/include/*.h).
std::vector<Arg> make_args(const std::string& kernel, const Shape& s) {
    std::vector<Arg> a;
    if (kernel == "topk") {
        long b = s.get("batch"), n = s.get("num_items"), k = s.get("k");
        a = {in_buf(b * cdiv(n, 16)), out_buf(b * 2 * cdiv(k, 16)), i32(b), i32(n), i32(k)};
        fill_f32(a[0]);
    } else if (kernel == "dsa_indexer" || kernel == "dsa_indexer_score") {
        long b = s.get("batch"), n = s.get("num_keys"), h = s.get("num_heads"), d = s.get("head_dim");
        long bpk = cdiv(d, 32);
        a = {in_buf(b * (h * bpk + cdiv(h, 32))), in_buf(b * n * bpk)};
        fill_i16(a[0], -128, 127), fill_i16(a[1], -128, 127);
        if (kernel == "dsa_indexer") {
            long k = s.get("k");
            a.push_back(out_buf(b * cdiv(k, 16)));
            for (long v : {b, n, h, d, k}) a.push_back(i32(v));
        } else {
            a.push_back(out_buf(b * cdiv(n, 8)));
            for (long v : {b, n, h, d}) a.push_back(i32(v));
        }
    } else if (kernel == "block_gate") {
        long b = s.get("batch"), nk = s.get("num_keys"), bs = s.get("block_size"), d = s.get("head_dim"),
             budget = s.get("budget");
        long nb = cdiv(nk, bs), bpr = cdiv(d, 32), kb = std::min(std::max(budget / bs, 1L), 256L);
        a = {in_buf(b * bpr), in_buf(b * nb * bpr), out_buf(b * (cdiv(kb, 16) + cdiv(nb, 512)))};
        fill_i16(a[0], -500, 500), fill_i16(a[1], -500, 500);
        for (long v : {b, nk, bs, d, budget}) a.push_back(i32(v));
        a.push_back(i64(s.get("threshold", 0)));
    } else if (kernel == "page_bound") {
        long b = s.get("batch"), d = s.get("head_dim"), k = s.get("k");
        long np = s.kv.count("num_pages") ? s.get("num_pages") : cdiv(s.get("num_keys"), s.get("page_size"));
        long bpr = cdiv(d, 32);
        a = {in_buf(b * bpr), in_buf(b * np * bpr), in_buf(b * np * bpr), out_buf(b * cdiv(k, 16))};
        fill_i16(a[0], -500, 500), fill_i16(a[1], -500, 0), fill_i16(a[2], 0, 500);
        for (long v : {b, np, d, k}) a.push_back(i32(v));
    } else if (kernel == "inner_product_topk") {
        long b = s.get("batch"), n = s.get("num_items"), d = s.get("dim"), k = s.get("k");
        long bpr = cdiv(d, 32);
        a = {in_buf(b * bpr), in_buf(b * n * bpr), out_buf(b * cdiv(k, 16))};
        fill_i16(a[0], -500, 500), fill_i16(a[1], -500, 500);
        for (long v : {b, n, d, k, n * bpr}) a.push_back(i32(v));
    } else if (kernel == "bm25") {
        // Postings spread evenly over the terms, each term over consecutive docs (balanced lanes).
        long np = s.get("num_postings"), docs = s.get("num_docs"), terms = s.get("num_terms"), k = s.get("k");
        std::vector<uint32_t> meta;
        std::vector<uint64_t> post;
        for (long t = 0; t < terms; ++t) {
            long cnt = std::min(docs, np / terms + (t < np % terms ? 1 : 0));
            long start = docs > cnt ? (t * 977) % (docs - cnt + 1) : 0;
            std::vector<std::vector<uint64_t>> lane(8);
            for (long i = 0; i < cnt; ++i) {
                uint64_t doc = uint64_t(start + i), tf = 1 + (doc + t) % 4;
                lane[doc % 8].push_back(doc | (tf << 32) | (uint64_t(1) << 48));
            }
            size_t nb = 0;
            for (auto& l : lane) nb = std::max(nb, l.size());
            meta.insert(meta.end(), {uint32_t(post.size() / 8), uint32_t(nb), uint32_t(cnt), 0u});
            for (size_t i = 0; i < nb; ++i)
                for (int j = 0; j < 8; ++j) post.push_back(i < lane[j].size() ? lane[j][i] : 0);
        }
        a = {in_buf(cdiv(terms, 4)), in_buf(cdiv(docs, 16)), in_buf(post.size() / 8), out_buf(2 * cdiv(k, 16))};
        std::memcpy(a[0].data.data(), meta.data(), meta.size() * 4);
        uint32_t* len = reinterpret_cast<uint32_t*>(a[1].data.data());
        for (long d = 0; d < docs; ++d) len[d] = 20 + uint32_t(rng() % 200);
        if (!post.empty()) std::memcpy(a[2].data.data(), post.data(), post.size() * 8);
        for (long v : {docs, terms, k}) a.push_back(i32(v));
        a.push_back(f32(1.2f)), a.push_back(f32(0.75f)), a.push_back(f32(119.5f));
    } else if (kernel == "engram_gather") {
        long n = s.get("num_tokens"), h = s.get("num_heads"), e = s.get("row_elems"), rows = s.get("rows", 100003);
        long bpr = cdiv(e, 32);
        a = {in_buf(cdiv(n, 16)), in_buf(2)};
        uint32_t* tok = reinterpret_cast<uint32_t*>(a[0].data.data());
        for (long i = 0; i < n; ++i) tok[i] = uint32_t(rng() % 129280);
        uint32_t* meta = reinterpret_cast<uint32_t*>(a[1].data.data());
        std::vector<long> per_group(4, 0);
        for (long hh = 0; hh < h; ++hh) {
            meta[2 * hh] = uint32_t(rows);
            meta[2 * hh + 1] = uint32_t(per_group[hh % 4] * rows * bpr);
            per_group[hh % 4]++;
        }
        for (int g = 0; g < 4; ++g) a.push_back(in_buf(per_group[g] * rows * bpr));
        for (int g = 0; g < 4; ++g) a.push_back(out_buf(n * per_group[g] * bpr));
        for (long v : {n, h, e, 2L}) a.push_back(i32(v));
    } else {
        throw std::runtime_error("unknown kernel " + kernel);
    }
    return a;
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <xclbin> <kernel> [key=value ...] [runs=N] [warmup=N] [device=N] [csv=FILE]\n",
                     argv[0]);
        return 2;
    }
    const std::string xclbin = argv[1], kernel_name = argv[2];
    Shape shape;
    int runs = 20, warmup = 3, dev_index = 0;
    std::string csv = "hetsim_xrt_runs.csv";
    for (int i = 3; i < argc; ++i) {
        std::string t = argv[i];
        size_t eq = t.find('=');
        if (eq == std::string::npos) { std::fprintf(stderr, "bad argument %s\n", argv[i]); return 2; }
        std::string k = t.substr(0, eq), v = t.substr(eq + 1);
        if (k == "runs") runs = std::atoi(v.c_str());
        else if (k == "warmup") warmup = std::atoi(v.c_str());
        else if (k == "device") dev_index = std::atoi(v.c_str());
        else if (k == "csv") csv = v;
        else shape.kv[k] = std::atol(v.c_str());
    }
    try {
        xrt::device device(dev_index);
        const std::string dev_name = device.get_info<xrt::info::device::name>();
        const auto uuid = device.load_xclbin(xclbin);
        xrt::kernel kernel(device, uuid, kernel_name);
        std::vector<Arg> args = make_args(kernel_name, shape);

        std::vector<xrt::bo> bos(args.size());
        size_t bytes_in = 0, bytes_out = 0;
        xrt::run run(kernel);
        for (size_t i = 0; i < args.size(); ++i) {
            Arg& a = args[i];
            switch (a.kind) {
                case Arg::BUF_IN:
                case Arg::BUF_OUT:
                    bos[i] = xrt::bo(device, a.data.size(), kernel.group_id(int(i)));
                    bos[i].write(a.data.data());
                    (a.kind == Arg::BUF_IN ? bytes_in : bytes_out) += a.data.size();
                    run.set_arg(int(i), bos[i]);
                    break;
                case Arg::I32: run.set_arg(int(i), int32_t(a.i)); break;
                case Arg::I64: run.set_arg(int(i), int64_t(a.i)); break;
                case Arg::F32: run.set_arg(int(i), a.f); break;
            }
        }
        std::ifstream probe(csv);
        const bool new_file = !probe.good();
        probe.close();
        std::ofstream out(csv, std::ios::app);
        if (new_file)
            out << "kernel,shape,run,kernel_time_s,h2d_time_s,d2h_time_s,bytes_in,bytes_out,device,xclbin\n";
        for (int r = -warmup; r < runs; ++r) {
            double t0 = now_s();
            for (size_t i = 0; i < args.size(); ++i)
                if (args[i].kind == Arg::BUF_IN) bos[i].sync(XCL_BO_SYNC_BO_TO_DEVICE);
            double t1 = now_s();
            run.start();
            run.wait();
            double t2 = now_s();
            for (size_t i = 0; i < args.size(); ++i)
                if (args[i].kind == Arg::BUF_OUT) bos[i].sync(XCL_BO_SYNC_BO_FROM_DEVICE);
            double t3 = now_s();
            if (r < 0) continue;
            out << kernel_name << "," << shape.str() << "," << r << "," << (t2 - t1) << "," << (t1 - t0) << ","
                << (t3 - t2) << "," << bytes_in << "," << bytes_out << "," << dev_name << "," << xclbin << "\n";
            std::printf("%s run %d: kernel %.3f us\n", kernel_name.c_str(), r, (t2 - t1) * 1e6);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
