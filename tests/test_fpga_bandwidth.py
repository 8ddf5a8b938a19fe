"""An FPGA what-if on HBM bandwidth reaches the HLS designs: a pseudo-channel streams at most
its share of the board's achievable bandwidth, so lowering ``memory.achievable_bandwidth_Bps``
slows a memory-bound design (the README's what-if example depends on it)."""

from __future__ import annotations

import copy

import pytest

from hetsim import catalog
from hetsim.config.device import DeviceSpec
from hetsim.costs.model import CostModel, channel_param
from hetsim.graph import Task
from hetsim.loader import validate
from hetsim.steps import Step

# one DSA indexer + top-2048 call at 64K keys (DeepSeek-V3.2 indexer: 64 heads x 128)
SHAPE = {"batch": 1, "num_keys": 65536, "num_heads": 64, "head_dim": 128, "k": 2048}


def _u55c(memory=None, channel=None):
    pr = catalog.load_preset("devices", "u55c")
    raw = copy.deepcopy(pr.raw)
    if memory is not None:
        raw["memory"]["achievable_bandwidth_Bps"] = memory
    if channel is not None:
        raw["fpga"]["channel_bandwidth_Bps"] = channel
    return validate(DeviceSpec, raw, file=str(pr.path))


def _time(dev):
    task = Task(name="idx", step=Step.COMPUTE_RELEVANCY, kernel="indexer_topk", shape=SHAPE)
    c = CostModel().price(task, dev)
    return c.overhead_s + c.work_s


def test_preset_channel_is_the_board_share():
    dev = _u55c()
    assert channel_param(dev)["channel_Bps"] == float(dev.fpga.channel_bandwidth_Bps)
    assert channel_param(dev)["channel_Bps"] == float(dev.memory.achievable_bandwidth_Bps) / 32


@pytest.mark.parametrize("bw", [380e9, 300e9, 200e9])
def test_lower_board_bandwidth_slows_the_design(bw):
    base, slow = _time(_u55c()), _time(_u55c(memory=bw))
    assert channel_param(_u55c(memory=bw))["channel_Bps"] == pytest.approx(bw / 32)
    # the indexer streams its keys: time grows with the bandwidth cut, never beyond it
    assert slow > base * 1.02
    assert slow <= base * 425e9 / bw * (1 + 1e-9)


def test_channel_figure_can_only_lower_the_share():
    dev = _u55c(channel=5e9)
    assert channel_param(dev)["channel_Bps"] == 5e9
    assert _time(dev) > _time(_u55c())
    # no per-channel figure: the board's share still limits a channel
    assert channel_param(_u55c(channel=None))["channel_Bps"] == pytest.approx(425e9 / 32)


def test_readme_what_if_figures_match_a_run(tmp_path):
    """The README's sentence "(A -> B ms)" on the shipped what-if is what `hetsim run` gives
    for the scenario without and with its U55C bandwidth override."""
    import json
    import re
    from pathlib import Path

    import yaml

    from hetsim.cli import main

    root = Path(__file__).resolve().parents[1]
    m = re.search(r"makespan (\d+)% longer \((\d+) -> (\d+) ms\)", (root / "README.md").read_text())
    assert m, "the README's what-if sentence moved"
    pct, before_ms, after_ms = (int(g) for g in m.groups())
    doc = yaml.safe_load((root / "scenarios/examples/what-if.yaml").read_text())
    base = copy.deepcopy(doc)
    for d in base["system"]["devices"]:
        d.pop("overrides", None)
    got = {}
    for name, scen in (("base", base), ("what-if", doc)):
        f = tmp_path / f"{name}.yaml"
        f.write_text(yaml.safe_dump(scen))
        assert main(["run", str(f), "--out", str(tmp_path / name), "--no-plot"]) == 0
        got[name] = json.loads((tmp_path / name / "result.json").read_text())["makespan_s"] * 1e3
    assert round(got["base"]) == before_ms and round(got["what-if"]) == after_ms, got
    assert round(100 * (got["what-if"] / got["base"] - 1)) == pct, got
