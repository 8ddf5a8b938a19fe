"""Cycle models of the HLS kernels: hand counts from the loop structure, the top-k hit model,
the registry contract and the import rule (stdlib/numpy only). No compiler needed."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from hetsim.fpga_kernels import DESIGNS, HETSIM_DESIGNS, CycleEstimate, estimate
from hetsim.fpga_kernels._common import harmonic, topk_replacements

REPO = Path(__file__).resolve().parents[2]

# Hand counts. Defaults: 300 MHz, II 1, 32 int16 / 16 float32 / 8 postings per 64 B beat,
# rescan = log2(k_max) cycles (k_max 2048 -> 11, 512 -> 9, 256 -> 8).
HAND = [
    # topk worst (ascending): 63 beats, all serial (16 lanes each), 936 replacements + 1 rescan
    # after the fill, drain 64, depth 40: 63 + 16*63 + 937*11 + 64 + 40
    ("topk", dict(batch=1, num_items=1000, k=64), "worst", 63 + 16 * 63 + 937 * 11 + 64 + 40, 64 * (63 + 2 * 4)),
    # topk best (descending): only the 4 fill beats are serial, one rescan
    ("topk", dict(batch=1, num_items=1000, k=64), "best", 63 + 16 * 4 + 11 + 64 + 40, 64 * (63 + 2 * 4)),
    # dsa: q 64 heads x 4 beats, w 2 beats, keys 1000 x 4 beats; the top-k stage (1000 items +
    # 937 rescans x 11) is slower than the 4000-beat score stage; drain 64, depth 60
    ("dsa_indexer", dict(batch=1, num_keys=1000, num_heads=64, head_dim=128, k=64), "worst",
     256 + 2 + max(4000, 1000 + 937 * 11) + 64 + 60, 64 * (256 + 2 + 4000 + 4)),
    ("dsa_indexer", dict(batch=1, num_keys=1000, num_heads=64, head_dim=128, k=64), "best",
     256 + 2 + max(4000, 1000 + 11) + 64 + 60, 64 * (256 + 2 + 4000 + 4)),
    # scores only, 2 rows: per row q/w + 4000 key beats + depth; 125 beats of int64 scores out
    ("dsa_indexer_score", dict(batch=2, num_keys=1000, num_heads=64, head_dim=128), None,
     2 * (256 + 2 + 4000 + 60), 2 * 64 * (256 + 2 + 4000 + 125)),
    # block gate: 1024 blocks x 4 beats, kb = 4096/64 = 64, bitmap 2 beats, depth 50
    ("block_gate", dict(batch=1, num_keys=65536, block_size=64, head_dim=128, budget=4096), "best",
     4 + max(4096, 1024 + 8) + 64 + 50, 64 * (4 + 4096 + 4 + 2)),
    # page bound: 4096 pages x 4 beats (kmin and kmax in lock step), k 64
    ("page_bound", dict(batch=1, num_keys=65536, page_size=16, head_dim=128, k=64), "best",
     4 + max(16384, 4096 + 9) + 64 + 50, 64 * (4 + 2 * 16384 + 4)),
    ("inner_product_topk", dict(batch=1, num_items=1000, dim=128, k=64), "worst",
     4 + max(4000, 1000 + 937 * 8) + 64 + 50, 64 * (4 + 4000 + 4)),
    # bm25: 1003 postings over 5 terms = 201,201,201,200,200 -> 26*3 + 25*2 = 128 beats;
    # 1000 init + 5*40 term overhead + 128 + 1000 select + 1 rescan*8 + drain 10 + depth 60
    ("bm25", dict(num_postings=1003, num_docs=1000, num_terms=5, k=10), "best",
     1000 + 5 * 40 + 128 + 1000 + 8 + 10 + 60, 64 * (63 + 2 + 128 + 2)),
    # engram: 13 heads -> busiest group has 4 heads x 2 beats per token
    ("engram_gather", dict(num_tokens=100, num_heads=13, row_elems=40), None,
     100 * 4 * 2 + 80, 64 * (7 + 2 + 2 * 100 * 13 * 2)),
]


@pytest.mark.parametrize("kernel,shape,hit,cycles,hbm", HAND, ids=[f"{h[0]}-{h[2]}" for h in HAND])
def test_cycles_match_hand_count(kernel, shape, hit, cycles, hbm):
    e = estimate(kernel, shape, {"hit_model": hit} if hit else None)
    assert e.cycles == cycles, f"{kernel}: model {e.cycles} cycles, hand count {cycles}"
    assert e.hbm_bytes == hbm
    assert e.time_s == pytest.approx(cycles / 300e6)


def test_registry_contract():
    for name, d in DESIGNS.items():
        assert d.name == name
        assert (REPO / d.header).is_file(), d.header
        assert d.defaults["clock_hz"] == 300e6
        assert d.defaults.get("ii", 1) == 1
        assert d.defaults["hbm_ports"] >= 1
        assert "elem_type" in d.defaults
    assert set(HETSIM_DESIGNS) == {"topk", "dsa_indexer", "dsa_indexer_score", "block_gate", "page_bound", "bm25",
                            "inner_product_topk", "engram_gather"}


def test_simulator_shapes_accepted_with_extra_keys():
    # The simulator passes its own task shapes, which carry extra keys such as elem_bytes.
    e = estimate("dsa_indexer_score", dict(batch=4, num_keys=8192, num_heads=64, head_dim=128, elem_bytes=2,
                                           intermediate=0 + 1))
    assert isinstance(e, CycleEstimate) and e.loops["dsa.key"] == 4 * 8192
    assert estimate("page_bound", dict(batch=1, num_pages=512, head_dim=128, k=64)).loops["pb.page"] == 512


@pytest.mark.parametrize("kernel,shape,params,match", [
    ("nope", {}, None, "unknown FPGA kernel"),
    ("topk", dict(batch=1, num_items=10), None, "missing"),
    ("topk", dict(batch=1, num_items=10, k=4), {"hitmodel": "worst"}, "unknown parameter"),
    ("topk", dict(batch=1, num_items=10, k=4), {"hit_model": "typical"}, "hit_model"),
    ("topk", dict(batch=0, num_items=10, k=4), None, "positive"),
    ("dsa_indexer", dict(batch=1, num_keys=10, num_heads=128, head_dim=128, k=4), None, "num_heads"),
    ("page_bound", dict(batch=1, head_dim=128, k=4), None, "num_pages"),
])
def test_bad_requests_raise(kernel, shape, params, match):
    with pytest.raises(ValueError, match=match):
        estimate(kernel, shape, params)


def test_random_hit_model_is_k_ln_n_over_k_and_between_best_and_worst():
    n, k = 1_000_000, 2048
    rnd = topk_replacements(n, k, "random")
    assert rnd == round(k * (harmonic(n) - harmonic(k)))
    assert rnd == pytest.approx(k * math.log(n / k), rel=0.01)
    shape = dict(batch=1, num_keys=131072, num_heads=64, head_dim=128, k=2048)
    c = {h: estimate("dsa_indexer", shape, {"hit_model": h}).cycles for h in ("best", "random", "worst")}
    assert c["best"] <= c["random"] <= c["worst"]
    # At 128K keys the random-order top-k hides behind the 4-beat-per-key score stage.
    assert c["random"] == c["best"]


def test_batch_scales_linearly():
    one = estimate("inner_product_topk", dict(batch=1, num_items=5000, dim=256, k=32))
    three = estimate("inner_product_topk", dict(batch=3, num_items=5000, dim=256, k=32))
    assert three.cycles == 3 * one.cycles and three.hbm_bytes == 3 * one.hbm_bytes
    assert three.loops == {k: 3 * v for k, v in one.loops.items()}


def _imports(path: Path) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods.add(node.module or "")
    return mods


def test_fpga_kernels_import_only_stdlib_and_numpy():
    allowed = {"__future__", "math", "dataclasses", "typing", "numpy"}
    for f in (REPO / "hetsim" / "fpga_kernels").glob("*.py"):
        assert _imports(f) <= allowed, f"{f.name} imports {_imports(f) - allowed}"


def test_ingest_parsers_import_only_stdlib_and_hetsim_errors():
    # the parsers stay standalone; update.py is the step that writes device files and tables.
    # hetsim.inputs is the one reader of every input file (issue 9): stdlib, yaml and errors only;
    # hetsim.limits holds the input ceilings (no imports at all)
    allowed = {"__future__", "csv", "math", "re", "statistics", "dataclasses", "pathlib", "typing",
               "xml.etree.ElementTree", "hetsim.errors", "hetsim.inputs", "hetsim.limits"}
    for f in (REPO / "hetsim" / "ingest").glob("*.py"):
        if f.name == "update.py":
            continue
        assert _imports(f) <= allowed, f"{f.name} imports {_imports(f) - allowed}"
