"""Placement fit: every design a device hosts x its compute units must fit the card's HBM
pseudo-channels and DSP/BRAM/URAM/LUT, or the device is refused naming the budget."""

from __future__ import annotations

import copy

import pytest

from hetsim import catalog
from hetsim.config.device import DeviceSpec
from hetsim.costs.fpga_fit import check_fpga_placement, placement_usage
from hetsim.errors import ConfigError
from hetsim.loader import validate


def _u55c(kernels=None):
    pr = catalog.load_preset("devices", "u55c")
    raw = copy.deepcopy(pr.raw)
    if kernels is not None:
        raw["fpga"]["kernels"] = kernels
    return validate(DeviceSpec, raw, file=str(pr.path))


def test_presets_fit():
    for name in ("u55c", "v80"):
        pr = catalog.load_preset("devices", name)
        check_fpga_placement(validate(DeviceSpec, pr.raw, file=str(pr.path)))


def test_study_vanilla_on_8_ports_uses_10_channels_and_fits_three_times():
    dev = _u55c({"idx": {"design": "study_dsa_vanilla", "compute_units": 3}})
    assert placement_usage(dev)["idx"][:2] == (3, 10)
    check_fpga_placement(dev)  # 30 of 32 pseudo-channels


def test_too_many_pseudo_channels_refused():
    dev = _u55c({"idx": {"design": "study_dsa_vanilla", "compute_units": 4}})
    with pytest.raises(ConfigError, match=r"HBM pseudo-channels: 40 needed \(idx 4x10\), the card has 32"):
        check_fpga_placement(dev)


def test_too_many_dsps_refused():
    # 5 units of hetsim's dsa_indexer: 5 x 2048 int16 MACs = 10240 DSP > 9024 (15 ports fit)
    dev = _u55c({"idx": {"design": "dsa_indexer", "compute_units": 5}})
    with pytest.raises(ConfigError, match=r"DSP: 10240 needed \(idx 10240\), the card has 9024"):
        check_fpga_placement(dev)


def test_cost_model_refuses_an_overfull_card():
    from hetsim.costs.model import CostModel
    from hetsim.graph import Task

    dev = _u55c({"indexer_topk": {"design": "dsa_indexer", "compute_units": 5}})
    task = Task("t", "compute_relevancy", "indexer_topk",
                {"batch": 1, "num_keys": 1024, "num_heads": 64, "head_dim": 128, "k": 64})
    with pytest.raises(ConfigError, match="DSP"):
        CostModel().price(task, dev)


def test_study_preset_prices_an_indexer_call_through_the_cost_model():
    from hetsim.costs.model import CostModel
    from hetsim.fpga_kernels import estimate
    from hetsim.graph import Task

    dev = _u55c({"indexer_topk": {"design": "study_dsa_vanilla", "params": {"hit_model": "best"}}})
    shape = {"batch": 1, "num_keys": 32768, "num_heads": 16, "head_dim": 128, "k": 2048}
    cost = CostModel().price(Task("t", "compute_relevancy", "indexer_topk", shape), dev)
    cycles = estimate("study_dsa_vanilla", shape, {"hit_model": "best"}).cycles
    assert cost.work_s == pytest.approx(cycles / 300e6)
    assert cost.work_s == pytest.approx(32 * 2048 / 300e6, rel=0.01)  # ~218 us: 32 cycles per 16 keys
    assert cost.source == "fpga:study_dsa_vanilla"
