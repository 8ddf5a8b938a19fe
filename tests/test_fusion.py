"""Relevancy + retrieval fused into one FPGA kernel, as the study's designs do."""

from __future__ import annotations

import pytest

from hetsim.config.device import FpgaKernelDesign
from hetsim.costs import CostModel
from hetsim.graph import task_of
from hetsim.loader import load_device_preset
from hetsim.mapping.base import Mapping
from hetsim.mapping.fusion import fuse_pairs, hosts
from hetsim.mapping.search import search
from hetsim.mapping.transfers import insert_transfers
from hetsim.engine import simulate
from hetsim.metrics import summarize
from simkit import graph_of, make_link, make_system

SCORE = {"batch": 2, "num_keys": 4096, "num_heads": 64, "head_dim": 128}
TOPK = {"batch": 2, "num_items": 4096, "k": 256}


def _fpga(fused=True):
    """The U55C preset with its kernel list pinned here, so refining the preset's design
    choices (compute units, hosted kernels) does not move these tests."""
    u = load_device_preset("u55c")
    kernels = {"indexer_score": FpgaKernelDesign(design="dsa_indexer_score", compute_units=2),
               "topk": FpgaKernelDesign(design="topk", compute_units=2)}
    if fused:
        kernels["indexer_topk"] = FpgaKernelDesign(design="dsa_indexer", compute_units=2)
    return u.model_copy(update={"name": "fpga", "fpga": u.fpga.model_copy(update={"kernels": kernels})})


def _graph(extra_consumer=False):
    tasks = [("s", "compute_relevancy", "indexer_score", SCORE), ("t", "retrieval", "topk", TOPK)]
    edges = [("s", "t", 2 * 4096 * 4)]
    if extra_consumer:
        tasks.append(("x", "model", "elementwise", {"num_elems": 8}))
        edges.append(("s", "x", 16))
    return graph_of(tasks, edges)


def test_pair_on_a_hosting_fpga_becomes_one_fused_task():
    system = make_system([_fpga()])
    g, m = fuse_pairs(_graph(), system, Mapping("t", {"s": "fpga", "t": "fpga"}, {}))
    assert list(g.nodes) == ["s+t"]
    t = task_of(g, "s+t")
    assert t.kernel == "indexer_topk" and dict(t.shape) == {**SCORE, "k": 256}
    assert t.step.value == "compute_relevancy"
    cost = CostModel().price(t, system.devices[0])
    assert cost.source == "fpga:dsa_indexerx2"  # two compute units split the batch of 2
    # the fused kernel streams scores into the top-k: cheaper than the two kernels in a row
    s, k = (CostModel().price(task_of(_graph(), n), system.devices[0]) for n in ("s", "t"))
    assert cost.latency_s < s.latency_s + k.latency_s


def test_no_fusion_without_the_design_or_when_scores_have_another_consumer():
    assert hosts(_fpga(fused=False), "topk") and not hosts(_fpga(fused=False), "gemm")
    g, _ = fuse_pairs(_graph(), make_system([_fpga(fused=False)]), Mapping("t", {"s": "fpga", "t": "fpga"}, {}))
    assert set(g.nodes) == {"s", "t"}
    sys2 = make_system([_fpga()])
    g, _ = fuse_pairs(_graph(True), sys2, Mapping("t", {"s": "fpga", "t": "fpga", "x": "fpga"}, {}))
    assert set(g.nodes) == {"s", "t", "x"}


def test_search_bound_stays_valid_with_fusion():
    """B&B must find the exhaustive optimum even when fusing makes a pair cheaper than its parts."""
    gpu = load_device_preset("mi210").model_copy(update={"name": "gpu"})
    system = make_system([gpu, _fpga()], [(make_link(latency=1e-6, bw=4e9), "gpu", "fpga")])
    g = _graph()

    def evaluate(m):
        gf, mf = fuse_pairs(g, system, m)
        return summarize(simulate(insert_transfers(gf, mf), system, mf, CostModel(), power_off_unused=True))

    full = search(g, system, "latency", evaluate, granularity="task")
    bnb = search(g, system, "latency", evaluate, granularity="task", exhaustive_limit=0)
    assert bnb.best.value("latency") == pytest.approx(full.best.value("latency"))
