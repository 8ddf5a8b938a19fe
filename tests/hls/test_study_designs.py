"""The study's designs (heterollm.md §3): the vanilla DSA indexer against the C simulation of
its hls/ re-implementation, element size honoured by every cycle model, placement fit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetsim.fpga_kernels import DESIGNS, STUDY_DESIGNS, estimate
from hlskit import HLS, make, require_toolchain, run_counts

SHAPE_32K = dict(batch=1, num_keys=32768, num_heads=16, head_dim=128, k=2048)


def test_vanilla_dsa_prices_32_cycles_per_16_keys():
    e = estimate("study_dsa_vanilla", SHAPE_32K, {"hit_model": "best"})
    assert e.loops["dsav.round"] == 2048
    assert e.loops["dsav.mac"] + e.loops["dsav.out"] == 32 * 2048  # 16 MAC + 16 output cycles per 16 keys
    assert e.cycles == pytest.approx(32 * 2048, rel=0.01)
    assert e.hbm_ports == 8 + 2
    # random key order: the study's top-2048 (pipeline-off inner loop) becomes the bottleneck
    rnd = estimate("study_dsa_vanilla", SHAPE_32K)
    assert rnd.cycles > 1.2 * e.cycles


@pytest.fixture(scope="module")
def tb():
    require_toolchain()
    r = make("build/csim/tb_dsa_vanilla")
    assert r.returncode == 0, r.stdout + r.stderr
    return HLS / "build" / "csim" / "tb_dsa_vanilla"


@pytest.mark.parametrize("keys,ports,elem,dim,k", [(32768, 8, "int16", 128, 2048), (3000, 4, "int16", 100, 37),
                                                   (2000, 8, "int8", 128, 64), (2000, 8, "fp32", 128, 64)])
def test_vanilla_trip_counts_match_csim(tb, keys, ports, elem, dim, k):
    c = run_counts(tb, keys=keys, ports=ports, elem=elem, head_dim=dim, k=k)
    m = estimate("study_dsa_vanilla", dict(batch=1, num_keys=keys, num_heads=16, head_dim=dim, k=k),
                 {"hbm_ports": ports, "elem_type": elem}).loops
    for name in ("dsav.q_line", "dsav.mac", "dsav.out", "dsav.round", "topk.pack"):
        assert c[name] == m[name], name
    # data-dependent top-k events: one random draw against the expectation (within 20 %)
    for name in ("topk.hit_pack", "topk.replace"):
        assert c.get(name, 0) == pytest.approx(m[name], rel=0.20, abs=8), name


SHAPES = {
    "topk": dict(batch=2, num_items=3000, k=64),
    "dsa_indexer": dict(batch=2, num_keys=3000, num_heads=64, head_dim=128, k=64),
    "dsa_indexer_score": dict(batch=2, num_keys=3000, num_heads=64, head_dim=128),
    "block_gate": dict(batch=1, num_keys=65536, block_size=64, head_dim=128, budget=4096),
    "page_bound": dict(batch=1, num_keys=65536, page_size=16, head_dim=128, k=64),
    "bm25": dict(num_postings=5000, num_docs=1000, num_terms=5, k=10),
    "inner_product_topk": dict(batch=1, num_items=3000, dim=128, k=64),
    "engram_gather": dict(num_tokens=100, num_heads=13, row_elems=40),
    "study_dsa_vanilla": SHAPE_32K,
    "study_dsa_lut": dict(batch=1, num_keys=8192, num_heads=16, k=64),
    "study_seer_threshold": dict(batch=4, num_keys=8192, head_dim=128),
    "study_seer_budget": dict(batch=4, num_keys=8192, head_dim=128, k=64),
    "study_lserve": dict(batch=4, num_keys=8192, head_dim=128, k=64),
    "study_bm25": dict(num_docs=4096, doc_tokens=128, k=64),
    "study_engram": dict(num_tokens=16),
    "study_moe": dict(num_tokens=1, hidden=7168, inter=2048, experts_per_token=4),
}
DOUBLINGS = [("int8", "int16"), ("int8", "fp16"), ("int16", "fp32"), ("fp16", "fp32"), ("int16", "int32")]


def test_every_design_has_a_shape_and_structure():
    assert set(SHAPES) == set(DESIGNS)
    for name, d in DESIGNS.items():
        assert d.structure is not None, name
        assert "elem_type" in d.defaults and "hbm_ports" in d.defaults, name
    assert len(STUDY_DESIGNS) == 8 and all(d.study_note for d in STUDY_DESIGNS.values())


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(SHAPES)), pair=st.sampled_from(DOUBLINGS), scale=st.sampled_from([1, 2, 3]),
       hit=st.sampled_from(["random", "best", "worst"]))
def test_doubling_element_size_never_lowers_time_or_bytes(name, pair, scale, hit):
    small, big = pair
    d = DESIGNS[name]
    shape = {k: (v * scale if k in ("num_keys", "num_items", "num_docs", "num_postings", "num_tokens") else v)
             for k, v in SHAPES[name].items()}
    extra = {"hit_model": hit} if "hit_model" in d.defaults else {}
    try:
        a = estimate(name, shape, {"elem_type": small, **extra})
        b = estimate(name, shape, {"elem_type": big, **extra})
    except ValueError as e:  # e.g. a BRAM key store that the scaled shape overflows
        assert "exceed" in str(e) or "built for" in str(e)
        return
    assert b.cycles >= a.cycles and b.hbm_bytes >= a.hbm_bytes, (name, small, big, a, b)


def test_fp32_scoring_moves_twice_the_bytes_of_int16():
    a = estimate("dsa_indexer_score", SHAPES["dsa_indexer_score"], {"elem_type": "int16"})
    b = estimate("dsa_indexer_score", SHAPES["dsa_indexer_score"], {"elem_type": "fp32"})
    assert b.loops["dsa.key_beat"] == 2 * a.loops["dsa.key_beat"]
    assert b.cycles > 1.9 * a.cycles - 1000


@pytest.mark.parametrize("elem", ["int8", "int16", "int32"])
def test_dsa_indexer_element_type_matches_csim(elem):
    # hetsim's own indexer: the C++ score path is a template on the element type
    require_toolchain()
    r = make("build/csim/tb_dsa_indexer")
    assert r.returncode == 0, r.stdout + r.stderr
    c = run_counts(HLS / "build" / "csim" / "tb_dsa_indexer", variant="score", elem=elem, batch=2, num_keys=999,
                   num_heads=7, head_dim=100)
    m = estimate("dsa_indexer_score", dict(batch=2, num_keys=999, num_heads=7, head_dim=100), {"elem_type": elem})
    assert c == m.loops
