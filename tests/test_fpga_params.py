"""FPGA design parameters keep the type of the design's default: a flag is true/false, a count
an integer; anything else is refused with the design, the parameter and what is allowed."""

from __future__ import annotations

import pytest

from hetsim.fpga_kernels import merged_params


@pytest.mark.parametrize("key,value,allowed", [
    ("lanes", True, "an integer"), ("hbm_ports", 4.5, "an integer"), ("hbm_ports", "8", "an integer"),
    ("elem_type", 3, "a string"), ("channel_Bps", True, "a number"), ("clock_hz", "fast", "a number"),
])
def test_wrong_type_refused(key, value, allowed):
    with pytest.raises(ValueError, match=rf"dsa_indexer: parameter '{key}' must be {allowed}, got"):
        merged_params("dsa_indexer", {key: value})


def test_flag_must_be_a_flag():
    with pytest.raises(ValueError, match="must be true or false"):
        merged_params("study_bm25", {"mod16_filter": 1})
    assert merged_params("study_bm25", {"mod16_filter": False})["mod16_filter"] is False


def test_integral_numbers_become_integers():
    p = merged_params("dsa_indexer", {"hbm_ports": 8.0, "clock_hz": 2e8, "channel_Bps": 10e9})
    assert p["hbm_ports"] == 8 and type(p["hbm_ports"]) is int
    assert p["clock_hz"] == 2e8 and p["channel_Bps"] == 10e9
