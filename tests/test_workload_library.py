"""The workload library: model presets, every workload's work by hand, structure, scaling,
phases, multi-step decode and micro-batch overlap. Graphs use few layers to stay fast."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from hetsim.graph import MEMORY_PROCESSING_STEPS, Step, task_of
from hetsim.kernels import get_kernel
from hetsim.loader import scenario_from_dict
from hetsim.simulation import run_scenario
from hetsim.workloads import dsa, engram, full_attention, hmt, lact, memagent, moe, paged, rag, seer_attention_r
from hetsim.workloads.models import load_model, model_names
from hetsim.workloads.registry import build_workload, workloads

SYS = {"devices": [{"preset": "mi210", "name": "gpu"}, {"preset": "u55c", "name": "fpga"}],
       "links": [{"preset": "p2p-host-jump", "between": ["gpu", "fpga"], "name": "p2p"}]}

# workload -> (two models, small params)
LIBRARY = {
    "full_attention": (("qwen3-8b", "deepseek-v3.2"), {"num_layers": 2}),
    "dsa": (("deepseek-v3.2", "qwen3-8b"), {"num_layers": 2}),
    "seer_attention_r": (("qwen3-14b", "llama-3.1-8b"), {"num_layers": 2}),
    "quest": (("llama-3.1-8b", "qwen3-8b"), {"num_layers": 2}),
    "lserve": (("llama-3.1-8b", "qwen3-14b"), {"num_layers": 2}),
    "rag": (("llama-3.2-1b", "llama-3.1-8b"), {"num_layers": 2, "steps": 4, "reretrieve_every": 2}),
    "moe": (("gpt-oss-120b", "deepseek-v3.2"), {"num_layers": 4}),
    "engram": (("qwen3-8b", "llama-3.2-1b"), {"num_layers": 2, "engram_layers": [1]}),
    "hmt": (("llama-3.2-1b", "qwen3-8b"), {"num_layers": 2}),
    "lact": (("qwen3-8b", "llama-3.2-1b"), {"num_layers": 2}),
    "memagent": (("qwen3-8b", "qwen3-14b"), {"num_layers": 1, "memory_tokens": 64, "chunk_tokens": 8192}),
}
MODULES = {"full_attention": full_attention, "dsa": dsa, "seer_attention_r": seer_attention_r,
           "quest": paged, "lserve": paged, "rag": rag, "moe": moe, "engram": engram,
           "hmt": hmt, "lact": lact, "memagent": memagent}


def run(wl: str, params: dict, mapping: str) -> dict:
    sc = scenario_from_dict({"name": "t", "system": SYS, "workload": {"name": wl, "params": params}}, "t.yaml")
    return run_scenario(sc, mapping=mapping).result


def work(g, node):
    t = task_of(g, node)
    return get_kernel(t.kernel).work(t.shape)


# --- model presets -------------------------------------------------------------------------

def test_model_presets_carry_their_published_shapes_and_sources():
    assert set(model_names()) >= {"deepseek-v3.2", "qwen3-8b", "qwen3-14b", "llama-3.1-8b",
                                  "llama-3.2-1b", "gpt-oss-120b"}
    ds = load_model("deepseek-v3.2")
    assert (ds.num_layers, ds.hidden_size, ds.num_heads, ds.attention) == (61, 7168, 128, "mla")
    assert (ds.dsa.index_num_heads, ds.dsa.index_head_dim, ds.dsa.index_topk) == (64, 128, 2048)
    assert (ds.moe.num_experts, ds.moe.top_k, ds.moe.num_shared, ds.moe.expert_intermediate,
            ds.moe.first_dense_layers) == (256, 8, 1, 2048, 3)
    assert sum(ds.is_moe_layer(i) for i in range(61)) == 58
    q8, q14 = load_model("qwen3-8b"), load_model("qwen3-14b")
    assert (q8.num_layers, q8.hidden_size, q8.num_heads, q8.num_kv_heads, q8.head_dim, q8.intermediate_size) \
        == (36, 4096, 32, 8, 128, 12288)
    assert (q14.num_layers, q14.hidden_size, q14.num_heads, q14.intermediate_size) == (40, 5120, 40, 17408)
    l1 = load_model("llama-3.2-1b")
    assert (l1.num_layers, l1.hidden_size, l1.head_dim, l1.intermediate_size) == (16, 2048, 64, 8192)
    oss = load_model("gpt-oss-120b")
    assert (oss.num_layers, oss.moe.num_experts, oss.moe.top_k, oss.sliding_window) == (36, 128, 4, 128)
    from hetsim import catalog

    for name in model_names():
        pre = catalog.load_preset("models", name)
        assert pre.sources[pre.raw["source"]].startswith("https://huggingface.co/"), name


def test_overrides_and_unknown_models():
    g = build_workload("full_attention", {"model": "qwen3-8b", "num_layers": 1, "hidden_size": 1024, "lm_head": False})
    assert task_of(g, "s0.L0.qkv").shape["k"] == 1024 and "s0.L1.qkv" not in g
    from hetsim.errors import HetsimError

    with pytest.raises(HetsimError, match="unknown model"):
        build_workload("quest", {"model": "gpt-5"})
    with pytest.raises(HetsimError, match="GQA"):
        build_workload("quest", {"model": "deepseek-v3.2"})


# --- every workload runs, memory-processing share ----------------------------------------------

@pytest.mark.parametrize("wl", sorted(LIBRARY))
def test_runs_under_both_mappings_for_two_models_and_three_contexts(wl):
    models, base = LIBRARY[wl]
    for model in models:
        for L in (4096, 32768, 131072):
            params = {**base, "model": model, "context_len": L}
            gpu = run(wl, params, "gpu-only")
            het = run(wl, params, "hetero")
            assert gpu["makespan_s"] > 0 and het["makespan_s"] > 0
            f = gpu["memory_processing_fraction"]
            if wl == "full_attention":
                assert f == 0  # the dense reference has no memory processing, by definition
            else:
                assert 0 < f < 1, (wl, model, L, f)


@pytest.mark.parametrize("wl", ["dsa", "seer_attention_r", "quest", "lserve", "memagent"])
def test_share_grows_with_context(wl):
    # the scan over the whole context (indexer, gate, page bounds) grows with L while the
    # attention it feeds reads a fixed budget; MemAgent reads more chunks while its answer
    # stays the same size: the memory-processing share must rise
    models, base = LIBRARY[wl]
    for model in models:
        f = [run(wl, {**base, "model": model, "context_len": L}, "gpu-only")["memory_processing_fraction"]
             for L in (4096, 32768, 131072)]
        assert f[0] < f[1] < f[2], (wl, model, f)


def test_shares_shrink_where_the_algorithm_says_so():
    # retrieval over a fixed corpus and per-token Engram lookups do not grow with the context,
    # while attention does: their share falls
    for wl in ("rag", "engram"):
        models, base = LIBRARY[wl]
        f = [run(wl, {**base, "model": models[0], "context_len": L}, "gpu-only")["memory_processing_fraction"]
             for L in (4096, 131072)]
        assert f[1] < f[0], (wl, f)


# --- structure -------------------------------------------------------------------------------

STEPS = {  # task suffix -> step, per workload (decode)
    "full_attention": {"qkv": Step.MODEL, "attn": Step.MODEL, "o_proj": Step.MODEL, "mlp_up": Step.MODEL},
    "dsa": {"idx_k_proj": Step.PREPARE_MEMORY, "idx_k_write": Step.PREPARE_MEMORY,
            "idx_q_proj": Step.COMPUTE_RELEVANCY, "idx_w_proj": Step.COMPUTE_RELEVANCY,
            "idx_score": Step.COMPUTE_RELEVANCY, "topk": Step.RETRIEVAL,
            "sparse_attn": Step.APPLY_TO_INFERENCE, "q_a_proj": Step.MODEL},
    "seer_attention_r": {"blk_pool": Step.PREPARE_MEMORY, "blk_write": Step.PREPARE_MEMORY,
                         "gate_q": Step.COMPUTE_RELEVANCY, "gate_score": Step.COMPUTE_RELEVANCY,
                         "topk": Step.RETRIEVAL, "sparse_attn": Step.APPLY_TO_INFERENCE, "qkv": Step.MODEL},
    "quest": {"page_minmax": Step.PREPARE_MEMORY, "page_write": Step.PREPARE_MEMORY,
              "page_score": Step.COMPUTE_RELEVANCY, "topk": Step.RETRIEVAL,
              "sparse_attn": Step.APPLY_TO_INFERENCE},
    "lserve": {"page_score": Step.COMPUTE_RELEVANCY, "topk": Step.RETRIEVAL,
               "sparse_attn": Step.APPLY_TO_INFERENCE, "stream_attn": Step.APPLY_TO_INFERENCE},
    "rag": {"score": Step.COMPUTE_RELEVANCY, "topk": Step.RETRIEVAL, "doc_embed": Step.APPLY_TO_INFERENCE},
    "moe": {"router": Step.COMPUTE_RELEVANCY, "expert_topk": Step.RETRIEVAL,
            "experts": Step.APPLY_TO_INFERENCE, "shared_expert": Step.MODEL},
    "engram": {"engram_lookup": Step.RETRIEVAL, "engram_proj": Step.APPLY_TO_INFERENCE,
               "engram_gate": Step.APPLY_TO_INFERENCE, "qkv": Step.MODEL},
    "hmt": {"mem_encode": Step.PREPARE_MEMORY, "mem_k_write": Step.PREPARE_MEMORY,
            "mem_q": Step.COMPUTE_RELEVANCY, "mem_score": Step.COMPUTE_RELEVANCY, "topk": Step.RETRIEVAL,
            "mem_recall": Step.APPLY_TO_INFERENCE, "qkv": Step.MODEL},
    "lact": {"fw_fwd_w1": Step.COMPUTE_RELEVANCY, "fw_bwd": Step.COMPUTE_RELEVANCY,
             "fw_update": Step.PREPARE_MEMORY, "fw_apply": Step.APPLY_TO_INFERENCE, "attn": Step.MODEL},
    "memagent": {},  # labelled by iteration: see test_memagent_by_hand
}


@pytest.mark.parametrize("wl", sorted(LIBRARY))
def test_step_tags_acyclic_connected_and_estimate(wl):
    models, base = LIBRARY[wl]
    model = "deepseek-v3.2" if wl == "moe" else models[0]
    p = {**base, "model": model, "context_len": 8192, "steps": 3}
    if wl == "hmt":
        p["segment_len"] = 2048  # 8192 is a boundary: step 0 runs the memory search
    g = build_workload(wl, p)
    assert nx.is_directed_acyclic_graph(g) and nx.is_weakly_connected(g)
    seen = {}
    for n in g.nodes:
        seen.setdefault(n.rsplit(".", 1)[-1], set()).add(task_of(g, n).step)
    for suffix, step in STEPS[wl].items():
        assert seen.get(suffix) == {step}, (suffix, seen.get(suffix))
    # one sink per micro-batch chain: every task leads to the last LM head
    assert [n for n in g.nodes if g.out_degree(n) == 0] == ["s2.lm_head"]
    if wl == "lact":  # the fast weights train at chunk boundaries only (8192 % 2048 == 0)
        assert "s0.L0.fw_bwd" in g and "s1.L0.fw_bwd" not in g
    spec = workloads()[wl]
    assert MODULES[wl].estimate(spec.params(**p)) == g.number_of_nodes()


# --- work by hand ----------------------------------------------------------------------------

def test_dsa_indexer_and_selection_by_hand():
    B, L = 2, 5000
    g = build_workload("dsa", {"batch": B, "context_len": L, "num_layers": 2, "steps": 2})
    # step 1 sees L + 1 cached tokens and its own: L + 2 keys
    flop, nbytes = work(g, "s1.L0.idx_score")
    keys = L + 2
    assert flop == B * keys * 64 * (2 * 128 + 2)  # L x 64 x 128 MAC (+ ReLU, weight) per query
    assert nbytes == B * (keys * 128 * 2 + 64 * (128 * 2 + 4) + keys * 4)  # L x 128 index elements
    assert dict(task_of(g, "s1.L0.topk").shape) == {"batch": B, "num_items": keys, "k": 2048}
    sa = task_of(g, "s1.L0.sparse_attn").shape
    assert sa["num_selected"] == 2048 and sa["kv_dim"] == 512 + 64
    # prefill: every prompt token writes its index key as the chunk is read
    gp = build_workload("dsa", {"phase": "prefill", "context_len": 3000, "prefill_chunk": 1024, "num_layers": 1})
    assert [task_of(gp, f"c{c}.L0.idx_k_write").shape["batch"] for c in range(3)] == [1024, 1024, 952]
    assert task_of(gp, "c2.L0.idx_score").shape["num_keys"] == 3000
    assert "c0.lm_head" not in gp and "c2.lm_head" in gp


def test_dsa_generalises_dsa_decode():
    old = build_workload("dsa_decode", {"context_len": 4096, "batch": 2, "num_layers": 3})
    new = build_workload("dsa", {"context_len": 4096, "batch": 2, "num_layers": 3, "ffn": "none", "lm_head": False})

    def bag(g):
        return sorted((t.kernel, tuple(sorted(t.shape.items())), t.step.value)
                      for t in (task_of(g, n) for n in g.nodes))

    assert bag(old) == bag(new)
    assert old.number_of_edges() == new.number_of_edges()
    # with the model's FFN: 3 dense layers then MoE (256 experts, 8 active + shared)
    g = build_workload("dsa", {"num_layers": 4, "lm_head": False})
    assert "s0.L2.mlp_up" in g and "s0.L3.experts" in g and "s0.L3.mlp_up" not in g


def test_seer_gate_by_hand():
    B, L = 2, 10_000
    g = build_workload("seer_attention_r", {"model": "qwen3-8b", "batch": B, "context_len": L, "num_layers": 1})
    nb, kv, hd = math.ceil((L + 1) / 64), 8, 128
    flop, nbytes = work(g, "s0.L0.gate_score")
    assert flop == 2 * B * kv * nb * hd  # one q . k_pool per (sequence, KV head, block)
    assert nbytes == nb * hd * 2 * B * kv + B * kv * (hd * 2 + nb * 4)  # each sequence's pooled keys once
    assert task_of(g, "s0.L0.topk").shape["k"] == 4096 // 64
    assert task_of(g, "s0.L0.sparse_attn").shape["num_keys"] == 4096
    assert task_of(g, "s0.L0.blk_write").shape == {"batch": B * kv, "head_dim": hd, "elem_bytes": 2}
    th = build_workload("seer_attention_r", {"model": "qwen3-8b", "context_len": L, "num_layers": 1,
                                             "select": "threshold", "threshold_keep": 0.25})
    assert task_of(th, "s0.L0.bitmap").kernel == "threshold_bitmap"
    assert task_of(th, "s0.L0.sparse_attn").shape["num_keys"] == math.ceil(0.25 * nb) * 64


def test_quest_and_lserve_page_bounds_by_hand():
    B, L = 3, 8000
    g = build_workload("quest", {"batch": B, "context_len": L, "num_layers": 1})
    npg, nh, hd = math.ceil((L + 1) / 16), 32, 128
    flop, nbytes = work(g, "s0.L0.page_score")
    assert flop == 4 * B * nh * npg * hd  # two products and a max per element
    assert nbytes == B * nh * (2 * npg * hd * 2 + npg * 4)  # min and max key per page
    assert task_of(g, "s0.L0.topk").shape == {"batch": B * nh, "num_items": npg, "k": 256}
    ls = build_workload("lserve", {"batch": B, "context_len": L, "num_layers": 1})
    assert task_of(ls, "s0.L0.page_score").shape["batch"] == B * 16  # half the heads are dense
    st = task_of(ls, "s0.L0.stream_attn").shape
    assert (st["num_keys"], st["num_heads"], st["num_kv_heads"]) == (64 + 256, 16, 4)


def test_rag_flare_plan_by_hand():
    L = 4096
    g = build_workload("rag", {"context_len": L, "steps": 5, "reretrieve_every": 2, "num_layers": 1})
    postings = 8 * 20_000
    assert task_of(g, "r0.score").shape == {"num_postings": postings, "num_docs": 1_000_000, "num_terms": 8,
                                            "doc_tokens": 128, "num_queries": 1}  # hints for study_bm25
    # per posting: (doc id, tf) read and ~6 operations; per document a length and a score
    assert work(g, "r0.score") == (6 * postings, postings * 8 + 1_000_000 * 8 + 8 * 8)
    dense = build_workload("rag", {"retriever": "dense", "context_len": L, "num_layers": 1, "batch": 2})
    assert work(dense, "r0.score") == (2 * 2 * 1_000_000 * 768,
                                       1_000_000 * 768 * 2 + 2 * (768 * 2 + 1_000_000 * 4))
    assert task_of(g, "r0.topk").shape["k"] == 64 and task_of(g, "r2.topk").shape["k"] == 3
    assert sorted(n.split(".")[0] for n in g if n.endswith(".score")) == ["r0", "r2", "r4"]
    # 64 docs x 128 tokens prefilled at the cached context, then each re-retrieval at its position
    assert task_of(g, "r0.L0.qkv").shape["m"] == 64 * 128
    assert task_of(g, "r0.L0.attn").shape["num_keys"] == L + 64 * 128
    assert task_of(g, "s2.L0.attn").shape["num_keys"] == L + 64 * 128 + 2 + 3 * 128 + 1
    assert task_of(g, "r0.L0.qkv").step is Step.APPLY_TO_INFERENCE and task_of(g, "s0.L0.qkv").step is Step.MODEL
    ib = build_workload("rag", {"index_build": True, "num_docs": 1000, "index_chunks": 4})
    assert {task_of(ib, n).step for n in ib} == {Step.PREPARE_MEMORY}
    assert sum(task_of(ib, n).shape.get("batch", 0) for n in ib if n.endswith(".write")) == 1000 * 128


def test_moe_experts_by_hand():
    B = 8
    g = build_workload("moe", {"model": "gpt-oss-120b", "batch": B, "num_layers": 1, "context_len": 4096})
    touched = math.ceil(128 * (1 - (1 - 4 / 128) ** B))  # 29 distinct experts for 8 tokens x top-4
    assert task_of(g, "s0.L0.experts").shape["experts_touched"] == touched == 29
    flop, nbytes = work(g, "s0.L0.experts")
    assert flop == 6 * B * 4 * 2880 * 2880
    assert nbytes == 3 * 2880 * 2880 * touched * 2 + 2 * B * 4 * 2880 * 2
    assert work(g, "s0.L0.router")[0] == 2 * B * 2880 * 128
    assert "s0.L0.shared_expert" not in g  # gpt-oss has no shared expert


def test_engram_lookup_by_hand():
    B = 4
    g = build_workload("engram", {"batch": B, "num_layers": 3, "engram_layers": [0, 2], "context_len": 4096})
    assert {n.split(".")[1] for n in g if n.endswith("engram_lookup")} == {"L0", "L2"}
    flop, nbytes = work(g, "s0.L2.engram_lookup")
    assert flop == 2 * B * 16  # one hash per head and token
    assert nbytes == B * (4 + 2 * 16 * 64 * 2)  # 16 random 64-element rows read and written per token
    assert task_of(g, "s0.L2.engram_proj").shape == {"m": B, "k": 1024, "n": 2 * 4096, "elem_bytes": 2}
    assert g.graph["data"]["engram_tables"] == 2 * 16 * 4_194_304 * 64 * 2


def test_full_attention_by_hand():
    g = build_workload("full_attention", {"batch": 2, "context_len": 1000, "num_layers": 2, "model": "gpt-oss-120b"})
    flop, nbytes = work(g, "s0.L1.attn")
    assert flop == 4 * 2 * 64 * 1 * 1001 * 64  # full layer: all 1001 keys
    assert nbytes == 2 * (2 * 1001 * 8 * 64 + 2 * 1 * 64 * 64) * 2  # K and V of 8 KV heads, q and out
    assert task_of(g, "s0.L0.attn").shape["num_keys"] == 128  # sliding-window layer
    assert {task_of(g, n).step for n in g} == {Step.MODEL}


def test_hmt_memory_search_by_hand():
    B, S = 2, 1024
    g = build_workload("hmt", {"batch": B, "context_len": 40 * S, "num_layers": 2, "steps": 2})
    # step 0 sits on a segment boundary: 40 memories cached, search them with a 512-wide key
    flop, nbytes = work(g, "s0.mem_score")
    assert flop == 2 * B * 40 * 512
    assert nbytes == 40 * 512 * 2 * B + B * (512 * 2 + 40 * 4)
    assert task_of(g, "s0.topk").shape == {"batch": B, "num_items": 40, "k": 8}
    assert "s1.mem_score" not in g  # the next step is inside the segment
    # attention only within the segment (+ sensory tokens + the memory token)
    assert task_of(g, "s1.L0.attn").shape["num_keys"] == (40 * S + 1) % S + 1 + 32 + 1
    # the summary: one backbone forward over half a segment
    enc = task_of(g, "s0.mem_encode").shape
    assert enc["m"] == B * (S // 2 + 1) and enc["k"] == 2048


def test_lact_fast_weights_by_hand():
    B, C = 2, 2048
    g = build_workload("lact", {"batch": B, "context_len": 4 * C, "num_layers": 1, "steps": 2})
    W, D, H = B * 4, 1024, 1024  # (sequence, head) pairs x fast-weight sizes
    assert work(g, "s0.L0.fw_fwd_w1")[0] == 2 * C * D * H * W
    assert work(g, "s0.L0.fw_bwd")[0] == 12 * C * D * H * W  # backward = 2x the 3 forward GEMMs
    assert work(g, "s1.L0.fw_apply")[0] == 2 * 1 * D * 3 * H * W
    up_flop, up_bytes = work(g, "s0.L0.fw_update")
    assert up_flop == W * 3 * D * H and up_bytes == 3 * W * 3 * D * H * 2
    assert task_of(g, "s1.L0.attn").shape["num_keys"] == 2048  # sliding window


def test_memagent_by_hand():
    L, C, M, Q = 12_000, 5000, 1024, 256
    g = build_workload("memagent", {"context_len": L, "num_layers": 1, "steps": 2})
    assert sorted({n.split(".")[0] for n in g}) == ["a0", "m0", "m1", "m2", "s0", "s1", "w0", "w1", "w2"]
    assert task_of(g, "m2.L0.qkv").shape["m"] == Q + M + (L - 2 * C)  # the last, short chunk
    at = task_of(g, "w0.L0.attn").shape
    assert (at["start_keys"], at["steps"]) == (Q + M + C, M)
    flop, nbytes = work(g, "w0.L0.attn")
    keys = M * (Q + M + C) + M * (M + 1) // 2  # step t reads Q + M + C + t + 1 keys
    assert flop == 4 * 32 * 128 * keys
    assert nbytes == 2 * (2 * 8 * 128 * keys + 2 * M * 32 * 128)
    assert work(g, "w0.L0.mlp_up")[1] == M * (4096 + 4096 * 2 * 12288 + 2 * 12288) * 2  # weights every token
    steps = {task_of(g, n).step for n in g if n.startswith("m0.")}, {task_of(g, n).step for n in g if n.startswith("w0.")}
    assert steps == ({Step.COMPUTE_RELEVANCY}, {Step.PREPARE_MEMORY})
    assert {task_of(g, n).step for n in g if n.startswith("a0.")} == {Step.APPLY_TO_INFERENCE}
    assert task_of(g, "s1.L0.attn").shape["num_keys"] == Q + M + 2


# --- scaling ------------------------------------------------------------------------------------

def mp_flop(g) -> float:
    return sum(work(g, n)[0] for n in g if task_of(g, n).step in MEMORY_PROCESSING_STEPS)


@pytest.mark.parametrize("wl", ["dsa", "seer_attention_r", "quest", "lserve", "rag", "moe", "engram", "hmt",
                                "memagent", "lact"])
def test_memory_processing_work_scales_with_batch(wl):
    models, base = LIBRARY[wl]
    p = {**base, "model": models[0], "context_len": 16384}
    one, four = build_workload(wl, {**p, "batch": 1}), build_workload(wl, {**p, "batch": 4})
    assert mp_flop(four) == pytest.approx(4 * mp_flop(one), rel=0.02)


def test_dense_reference_work_scales_with_batch_and_context():
    p = {"num_layers": 2, "lm_head": False}

    def attn(g):
        return sum(work(g, n)[0] for n in g if n.endswith(".attn"))

    one = build_workload("full_attention", {**p, "context_len": 16383})
    assert attn(build_workload("full_attention", {**p, "context_len": 16383, "batch": 4})) == 4 * attn(one)
    assert attn(build_workload("full_attention", {**p, "context_len": 65535})) == 4 * attn(one)


SCAN = {"dsa": "idx_score", "seer_attention_r": "gate_score", "quest": "page_score", "lserve": "page_score"}


@pytest.mark.parametrize("wl", sorted(SCAN))
def test_memory_processing_work_scales_with_context(wl):
    # the scan over the context is linear in it; the fixed-size projections are not
    models, base = LIBRARY[wl]
    p = {**base, "model": models[0]}
    a, b = build_workload(wl, {**p, "context_len": 16384}), build_workload(wl, {**p, "context_len": 65536})

    def scan(g):
        return sum(work(g, n)[0] for n in g if n.endswith("." + SCAN[wl]))

    assert scan(b) / scan(a) == pytest.approx(4, rel=0.01)
    assert mp_flop(b) > mp_flop(a)


# --- multi-step decode and micro-batches ------------------------------------------------------

@pytest.mark.parametrize("mapping", ["gpu-only", "hetero"])
def test_sixteen_steps_equal_sixteen_single_steps(mapping):
    base = {"model": "deepseek-v3.2", "num_layers": 1, "ffn": "none", "batch": 2}
    L = 4000
    multi = run("dsa", {**base, "context_len": L, "steps": 16}, mapping)
    singles = [run("dsa", {**base, "context_len": L + s, "steps": 1}, mapping) for s in range(16)]
    assert multi["makespan_s"] == pytest.approx(sum(r["makespan_s"] for r in singles), rel=1e-9)
    assert multi["tasks"] == sum(r["tasks"] for r in singles)


def test_micro_batches_overlap_fpga_and_gpu_work():
    base = {"model": "deepseek-v3.2", "num_layers": 2, "ffn": "none", "context_len": 65536, "steps": 2}
    split = run("dsa", {**base, "batch": 8, "micro_batches": 2}, "hetero")
    half = run("dsa", {**base, "batch": 4}, "hetero")
    # two independent chains interleave: less than running the two halves back to back
    assert split["makespan_s"] < 2 * half["makespan_s"] * 0.95
    g = build_workload("dsa", {**base, "batch": 5, "micro_batches": 2})
    assert task_of(g, "s1.L0.mb0.topk").shape["batch"] == 3 and task_of(g, "s1.L0.mb1.topk").shape["batch"] == 2
    assert sorted(n for n in g if g.out_degree(n) == 0) == ["s1.mb0.lm_head", "s1.mb1.lm_head"]


# --- CLI ----------------------------------------------------------------------------------------

def test_run_set_overrides_common_knobs(tmp_path, capsys):
    import json

    from hetsim.cli import main

    assert main(["run", "quest", "--out", str(tmp_path), "--json", "--set", "context_len=8192",
                 "--set", "steps=2", "--set", "model=qwen3-8b", "--set", "mapping.policy=gpu-only"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "qwen3-8b" in out["workload"]["graph"] and "L=8192" in out["workload"]["graph"]
    assert main(["run", "quest", "--out", str(tmp_path), "--set", "phase=sideways"]) == 2
    assert "--set phase=sideways" in capsys.readouterr().err  # the flag that set it is named


# --- MoE expert placement: shards, several FPGA cards (issue 11's last item)
def test_moe_expert_shards_by_hand():
    B, N = 8, 4
    one = build_workload("moe", {"model": "gpt-oss-120b", "batch": B, "num_layers": 2, "context_len": 4096})
    g = build_workload("moe", {"model": "gpt-oss-120b", "batch": B, "num_layers": 2, "context_len": 4096,
                               "expert_shards": N})
    # each shard holds 128 / 4 = 32 experts of every layer: 3 x hidden x width x 2 B x 32 x 2 layers
    shard_bytes = 3 * 2880 * 2880 * 2 * 32 * 2
    assert {d: s for d, s in g.graph["data"].items() if d.startswith("expert_weights")} == {
        f"expert_weights.{i}": shard_bytes for i in range(N)}
    assert N * shard_bytes == one.graph["data"]["expert_weights"]
    touched = math.ceil(32 * (1 - (1 - 1 / 32) ** B))  # 8 tokens x top-1 of a 32-expert shard: 8
    for i in range(N):
        t = task_of(g, f"s0.L1.experts.{i}")
        assert t.data == (f"expert_weights.{i}",) and t.step is Step.APPLY_TO_INFERENCE
        assert t.shape["top_k"] == 1 and t.shape["experts_touched"] == touched == 8
        flop, nbytes = work(g, f"s0.L1.experts.{i}")
        assert flop == 6 * B * 1 * 2880 * 2880 == work(one, "s0.L1.experts")[0] / N
        assert nbytes == 3 * 2880 * 2880 * touched * 2 + 2 * B * 1 * 2880 * 2
    assert work(g, "s0.L1.experts_sum")[1] == 3 * (N - 1) * B * 2880 * 2  # N - 1 binary adds
    assert nx.is_directed_acyclic_graph(g) and len(g) == moe.estimate(moe.MoeParams(
        model="gpt-oss-120b", batch=B, num_layers=2, context_len=4096, expert_shards=N))
    with pytest.raises(Exception, match="expert_shards"):
        build_workload("moe", {"model": "gpt-oss-120b", "expert_shards": 3})


def _moe_2fpga():
    from hetsim.loader import load_scenario

    return load_scenario("moe-2fpga")


def test_moe_two_fpgas_each_host_half_the_experts():
    out = run_scenario(_moe_2fpga(), mapping="hetero")
    a, place = out.mapping.assignment, out.mapping.placement
    assert place["expert_weights.0"] == "fpga0" and place["expert_weights.1"] == "fpga1"
    assert out.graph.graph["data"]["expert_weights.0"] == out.graph.graph["data"]["expert_weights.1"] \
        == 3 * 7168 * 2048 * 128 * 2  # 128 experts of the one MoE layer per card
    shard_tasks = {n: a[n] for n in a if ".experts." in n}
    assert shard_tasks and all(dev == f"fpga{n[-1]}" for n, dev in shard_tasks.items())
    assert {a[n] for n in a if n not in shard_tasks} == {"gpu"}
    assert 0 < out.result["memory_processing_fraction"] < 1
    gpu = run_scenario(_moe_2fpga(), mapping="gpu-only")
    assert set(gpu.mapping.assignment.values()) == {"gpu"}
    assert 0 < gpu.result["memory_processing_fraction"] < 1


def test_moe_fpga_placement_needs_a_design_on_every_card():
    from hetsim.errors import MappingError

    sc = scenario_from_dict({"name": "t", "system": SYS, "workload": {"name": "moe", "params": {
        "model": "gpt-oss-120b", "num_layers": 1, "expert_placement": "fpga", "context_len": 4096}}}, "t.yaml")
    with pytest.raises(MappingError, match="expert_placement.*no design for 'moe_experts'"):
        run_scenario(sc, mapping="hetero")
    assert run_scenario(sc, mapping="gpu-only").result["makespan_s"] > 0
