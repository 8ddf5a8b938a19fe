"""Steady-state fast-forward against full simulations small enough to run in full.

Multi-layer, multi-step DSA decodes (the context grows each step, so every step's costs
differ), one and two micro-batches, GPU-only and heterogeneous mappings: the fast-forwarded
makespan and energy must be within 0.5 % of the full run (they agree to ~1e-12 here), task
counts exactly equal, and the result must say fast-forward was used.
"""

from __future__ import annotations

import pytest

from hetsim.errors import ConfigError
from hetsim.loader import load_scenario
from hetsim.simulation import run_scenario


def _scenario(**params):
    sc = load_scenario(None)
    p = {**sc.workload.params, "context_len": 4096, **params}
    return sc.model_copy(update={"workload": sc.workload.model_copy(update={"params": p})})


@pytest.mark.parametrize("mapping,micro_batches,steps", [
    ("hetero", 1, 3), ("gpu-only", 1, 3), ("hetero", 2, 2), ("gpu-only", 2, 1)])
def test_fast_forward_matches_full(mapping, micro_batches, steps):
    sc = _scenario(num_layers=9, decode_steps=steps, micro_batches=micro_batches)
    full = run_scenario(sc, mapping=mapping, fast_forward="off").result
    ff = run_scenario(sc, mapping=mapping, fast_forward="on").result
    assert "fast_forward" not in full
    info = ff["fast_forward"]
    assert info["used"] and info["blocks"] == 9 and info["steps"] == steps
    assert info["simulated_tasks"] < full["tasks"]
    assert ff["tasks"] == full["tasks"] and ff["tokens"] == full["tokens"]
    for key in ("makespan_s", "energy_j"):
        assert ff[key] == pytest.approx(full[key], rel=5e-3)
    assert ff["memory_processing_fraction"] == pytest.approx(full["memory_processing_fraction"], abs=5e-3)
    for dev, d in full["devices"].items():
        assert ff["devices"][dev]["tasks"] == d["tasks"]
        assert ff["devices"][dev]["busy_s"] == pytest.approx(d["busy_s"], rel=5e-3)


def test_context_growth_is_accounted_per_step():
    """Later steps attend over more tokens: 4 steps cost more than 4 x the first step."""
    one = run_scenario(_scenario(num_layers=6, decode_steps=1, context_len=200_000),
                       mapping="gpu-only", fast_forward="off").result
    four = run_scenario(_scenario(num_layers=6, decode_steps=4, context_len=200_000),
                        mapping="gpu-only", fast_forward="on").result
    assert four["fast_forward"]["used"]
    assert four["makespan_s"] > 4 * one["makespan_s"]


def test_fast_forward_refuses_search_mappings():
    with pytest.raises(ConfigError, match="fast-forward"):
        run_scenario(_scenario(num_layers=4), mapping="heft", fast_forward="on")


def test_single_step_default_graph_unchanged():
    """decode_steps defaults to 1 and keeps the original task names."""
    out = run_scenario(_scenario(num_layers=2), mapping="gpu-only")
    assert "L0.q_a_proj" in out.graph and "fast_forward" not in out.result


def test_auto_fast_forwards_only_large_runs():
    small = run_scenario(_scenario(num_layers=61), mapping="gpu-only").result
    assert "fast_forward" not in small
    large = run_scenario(_scenario(num_layers=61, decode_steps=100), mapping="gpu-only").result
    assert large["fast_forward"]["used"] and large["tasks"] > 50_000
    assert large["fast_forward"]["simulated_tasks"] < large["tasks"] / 10
