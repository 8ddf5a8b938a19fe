"""DSA decode graph: structure and work checked against hand counts."""

from __future__ import annotations

import pytest

from hetsim.graph import Step, task_of
from hetsim.kernels import get_kernel
from hetsim.loader import load_device_preset
from hetsim.mapping.registry import map_graph
from hetsim.mapping.transfers import insert_transfers
from hetsim.workloads.registry import build_workload
from simkit import make_system

PARAMS = {"context_len": 1000, "batch": 2, "num_layers": 3}


def test_dsa_decode_structure_and_steps():
    g = build_workload("dsa_decode", PARAMS)
    assert g.number_of_nodes() == 13 * 3
    steps = {}
    for n in g.nodes:
        steps.setdefault(task_of(g, n).step, []).append(n.split(".", 1)[1])
    assert sorted(set(steps[Step.PREPARE_MEMORY])) == ["idx_k_proj", "idx_k_write"]
    assert sorted(set(steps[Step.COMPUTE_RELEVANCY])) == ["idx_q_proj", "idx_score", "idx_w_proj"]
    assert set(steps[Step.RETRIEVAL]) == {"topk"}
    assert set(steps[Step.APPLY_TO_INFERENCE]) == {"sparse_attn"}
    # layers are chained through the hidden state
    assert g.has_edge("L0.o_proj", "L1.q_a_proj") and g.has_edge("L1.o_proj", "L2.idx_k_proj")
    assert g.graph["tokens"] == 2


def test_dsa_decode_work_by_hand():
    g = build_workload("dsa_decode", PARAMS)
    score = task_of(g, "L0.idx_score")
    flop, nbytes = get_kernel(score.kernel).work(score.shape)
    # 2 sequences x 1001 keys x 64 heads x (2 x 128 + 2) ops
    assert flop == 2 * 1001 * 64 * 258
    # keys 1001 x 128 x 2 B + queries 64 x (128 x 2 + 4) B + scores 1001 x 4 B, per sequence
    assert nbytes == 2 * (1001 * 256 + 64 * 260 + 1001 * 4)
    topk = task_of(g, "L0.topk")
    assert dict(topk.shape) == {"batch": 2, "num_items": 1001, "k": 1000}  # k capped at L
    # index-key write edge: 2 sequences x 128 x 2 B; top-k indices: 2 x 1000 x 4 B
    assert g.edges["L0.idx_k_proj", "L0.idx_k_write"]["bytes"] == 512
    assert g.edges["L0.topk", "L0.sparse_attn"]["bytes"] == 8000
    # resident data: index cache = 2 x 1001 x 128 x 2 B x 3 layers
    assert g.graph["data"]["index_cache"] == 2 * 1001 * 128 * 2 * 3


def test_micro_batches_split_the_batch():
    g = build_workload("dsa_decode", {**PARAMS, "batch": 5, "micro_batches": 2})
    assert g.number_of_nodes() == 13 * 3 * 2
    assert task_of(g, "L0.mb0.topk").shape["batch"] == 3
    assert task_of(g, "L0.mb1.topk").shape["batch"] == 2


def test_hetero_moves_relevancy_and_retrieval_and_charges_every_transfer():
    gpu = load_device_preset("mi210").model_copy(update={"name": "gpu"})
    fpga = load_device_preset("u55c").model_copy(update={"name": "fpga"})
    system = make_system([gpu, fpga])
    g = build_workload("dsa_decode", PARAMS)
    m = map_graph("hetero", g, system)
    on_fpga = sorted(n.split(".", 1)[1] for n, d in m.assignment.items() if d == "fpga" and n.startswith("L0."))
    assert on_fpga == ["idx_k_write", "idx_score", "topk"]
    assert m.placement["index_cache"] == "fpga" and m.placement["kv_cache"] == "gpu"
    gx = insert_transfers(g, m)
    xfers = sorted(n for n in gx.nodes if n.startswith("xfer:L0."))
    assert xfers == ["xfer:L0.idx_k_proj->L0.idx_k_write", "xfer:L0.idx_q_proj->L0.idx_score",
                     "xfer:L0.idx_w_proj->L0.idx_score", "xfer:L0.topk->L0.sparse_attn"]
    assert task_of(gx, "xfer:L0.topk->L0.sparse_attn").nbytes == 8000


@pytest.mark.parametrize("bad", [{"micro_batches": 3, "batch": 2}, {"context_len": 0}, {"bogus": 1}])
def test_bad_params_are_config_errors(bad):
    from hetsim.errors import HetsimError

    with pytest.raises(HetsimError):
        build_workload("dsa_decode", {**PARAMS, **bad})


def test_rag_query_dense_and_bm25():
    dense = build_workload("rag_dense", {"num_docs": 1000, "num_layers": 2, "decode_tokens": 1})
    assert {"query_proj", "score", "topk", "embed_context"} <= set(dense.nodes)
    assert task_of(dense, "score").kernel == "inner_product_score"
    # prefill over top_k x doc_tokens + query tokens = 8 x 128 + 32 tokens; one decode step
    assert task_of(dense, "prefill.L0.qkv").shape["m"] == 8 * 128 + 32
    assert task_of(dense, "decode0.L1.attn").shape["num_keys"] == 8 * 128 + 32 + 1
    bm25 = build_workload("rag_dense", {"retriever": "bm25", "num_docs": 1000, "query_terms": 4,
                                        "postings_per_term": 100, "num_layers": 1})
    s = task_of(bm25, "score")
    assert s.kernel == "bm25_score" and dict(s.shape) == {"num_postings": 400, "num_docs": 1000, "num_terms": 4}
    assert "query_proj" not in bm25 and bm25.graph["data"]["inverted_index"] == 400 * 8 + 1000 * 8
