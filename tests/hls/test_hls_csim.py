"""C simulation of the HLS kernels with plain g++: the testbenches pass, deliberately broken
kernels are caught, and the Python cycle models predict the loop trip counts the C++ executes.

Skipped (with the reason) when g++ or the hls4ml-shipped Xilinx headers are missing.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from hetsim.fpga_kernels import estimate
from hlskit import HLS, PIP_HINT, make, require_toolchain, run_counts

KERNELS = ["topk", "dsa_indexer", "block_gate", "page_bound", "bm25", "inner_product_topk", "engram_gather"]


@pytest.fixture(scope="module")
def tb():
    """Build the normal testbenches (incremental: reuses hls/build/csim from `make -C hls csim`)."""
    require_toolchain()
    r = make("-j2", "build")
    assert r.returncode == 0, r.stdout + r.stderr
    return HLS / "build" / "csim"


@pytest.fixture(scope="module")
def bug_builds():
    """Build every kernel once with its HETSIM_INJECT_BUG (two compiles at a time)."""
    require_toolchain()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(KERNELS, pool.map(lambda k: make("build", f"BUG={k}"), KERNELS)))
    return results


def test_testbenches_pass(tb):
    for k in KERNELS:
        r = subprocess.run([str(tb / f"tb_{k}")], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"tb_{k} failed:\n{r.stdout[-3000:]}"
        assert f"SUMMARY {k}:" in r.stdout and "0 failed" in r.stdout


@pytest.mark.parametrize("kernel", KERNELS)
def test_injected_bug_is_caught(bug_builds, kernel):
    build = bug_builds[kernel]
    assert build.returncode == 0, build.stdout + build.stderr
    r = subprocess.run([str(HLS / "build" / f"bug-{kernel}" / f"tb_{kernel}")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0, f"tb_{kernel} did not notice the injected bug:\n{r.stdout[-2000:]}"
    assert "FAIL" in r.stdout


def test_topk_off_by_one_is_caught_by_name(bug_builds):
    # The example: an off-by-one in top-k (the last slot is never considered by the
    # min tree) must be caught by the random-input cases.
    r = subprocess.run([str(HLS / "build" / "bug-topk" / "tb_topk")], capture_output=True, text=True, timeout=60)
    assert "FAIL topk random" in r.stdout


def test_missing_headers_message():
    require_toolchain()
    r = make("build", "HLS_INC=/nonexistent/ap_types", "BUILD=build/never")
    assert r.returncode != 0
    assert PIP_HINT in r.stdout + r.stderr


# (kernel, testbench, count-mode args, model shape, hit model); "asc" input is the top-k worst
# case, "desc" the best case, so every counter is exact.
EXACT = [
    ("topk", "topk", dict(batch=2, num_items=5000, k=100, order="asc"), dict(batch=2, num_items=5000, k=100), "worst"),
    ("topk", "topk", dict(batch=2, num_items=5000, k=100, order="desc"), dict(batch=2, num_items=5000, k=100), "best"),
    ("topk", "topk", dict(batch=1, num_items=77, k=100, order="asc"), dict(batch=1, num_items=77, k=100), "worst"),
    ("dsa_indexer", "dsa_indexer", dict(batch=1, num_keys=1500, num_heads=64, head_dim=128, k=256, order="asc"),
     dict(batch=1, num_keys=1500, num_heads=64, head_dim=128, k=256), "worst"),
    ("dsa_indexer", "dsa_indexer", dict(batch=2, num_keys=999, num_heads=7, head_dim=100, k=64, order="desc"),
     dict(batch=2, num_keys=999, num_heads=7, head_dim=100, k=64), "best"),
    ("dsa_indexer_score", "dsa_indexer", dict(batch=2, num_keys=999, num_heads=64, head_dim=128, variant="score"),
     dict(batch=2, num_keys=999, num_heads=64, head_dim=128), None),
    ("block_gate", "block_gate", dict(batch=1, num_keys=100000, block_size=64, head_dim=100, budget=4096, order="asc"),
     dict(batch=1, num_keys=100000, block_size=64, head_dim=100, budget=4096), "worst"),
    ("page_bound", "page_bound", dict(batch=2, num_pages=3000, head_dim=128, k=64, order="desc"),
     dict(batch=2, num_pages=3000, head_dim=128, k=64), "best"),
    ("page_bound", "page_bound", dict(batch=1, num_pages=700, head_dim=72, k=700, order="asc"),
     dict(batch=1, num_pages=700, head_dim=72, k=700), "worst"),
    ("inner_product_topk", "inner_product_topk", dict(batch=2, num_items=2000, dim=45, k=50, order="asc"),
     dict(batch=2, num_items=2000, dim=45, k=50), "worst"),
    ("engram_gather", "engram_gather", dict(num_tokens=300, num_heads=13, row_elems=40),
     dict(num_tokens=300, num_heads=13, row_elems=40), None),
]


@pytest.mark.parametrize("kernel,tbname,args,shape,hit", EXACT,
                         ids=[f"{e[0]}-{e[2].get('order', 'fixed')}" for e in EXACT])
def test_model_trip_counts_match_csim_exactly(tb, kernel, tbname, args, shape, hit):
    counts = run_counts(tb / f"tb_{tbname}", **args)
    model = estimate(kernel, shape, {"hit_model": hit} if hit else None).loops
    assert counts == {k: v for k, v in model.items() if v or k in counts}, f"C-sim {counts} vs model {model}"


RANDOM = [
    ("topk", "topk", dict(batch=3, num_items=20000, k=256, order="random"), dict(batch=3, num_items=20000, k=256)),
    ("inner_product_topk", "inner_product_topk", dict(batch=4, num_items=6000, dim=32, k=128, order="random"),
     dict(batch=4, num_items=6000, dim=32, k=128)),
    ("bm25", "bm25", dict(num_docs=10000, num_terms=16, num_postings=20003, k=64),
     dict(num_docs=10000, num_terms=16, num_postings=20003, k=64)),
]


@pytest.mark.parametrize("kernel,tbname,args,shape", RANDOM, ids=[r[0] for r in RANDOM])
def test_model_trip_counts_random_order(tb, kernel, tbname, args, shape):
    """Data-independent loops match exactly; top-k replacements (data dependent) lie between
    the best and worst models, and for a shuffled input near the random-order expectation."""
    counts = run_counts(tb / f"tb_{tbname}", **args)
    est = {h: estimate(kernel, shape, {"hit_model": h}).loops for h in ("best", "random", "worst")}
    dependent = {"topk.replace", "topk.rescan", "topk.serial_beat", "topk.lane"}
    for name, v in est["random"].items():
        if name not in dependent:
            assert counts.get(name, 0) == v, f"{name}: C-sim {counts.get(name)} vs model {v}"
    for name in ("topk.replace", "topk.rescan"):
        assert est["best"][name] <= counts[name] <= est["worst"][name]
    assert counts["topk.rescan"] == counts["topk.replace"] + shape.get("batch", 1)
    if args.get("order") == "random":
        assert counts["topk.replace"] == pytest.approx(est["random"]["topk.replace"], rel=0.15)
    if kernel == "topk":
        assert counts["topk.lane"] == 16 * counts["topk.serial_beat"]
        assert counts["topk.serial_beat"] == pytest.approx(est["random"]["topk.serial_beat"], rel=0.15)
