"""``hetsim fpga explore``: the sweep, its fit verdicts, the picture, and clear errors."""

from __future__ import annotations

import json

from hetsim.cli import main
from hetsim.fpga_cli import explore


def test_explore_sweeps_and_marks_fit():
    res = explore("study_dsa_vanilla", "u55c", {"batch": "4"}, {})
    pts = [p for p in res["points"] if "time_s" in p]
    assert len(pts) == 4 * 4 * 4  # hbm_ports x elem_type x units
    by = {(p["params"]["hbm_ports"], p["params"]["elem_type"], p["units"]): p for p in pts}
    # 4 units of the 16-port variant need 4 x 18 = 72 pseudo-channels: refused
    assert not by[(16, "int16", 4)]["fits"] and "HBM pseudo-channels" in by[(16, "int16", 4)]["over"][0]
    assert by[(8, "int16", 1)]["fits"] and by[(8, "int16", 1)]["ports"] == 10
    # more units split the batch: never slower
    assert by[(8, "int16", 4)]["time_s"] <= by[(8, "int16", 1)]["time_s"]
    fr = [p for p in pts if p.get("frontier")]
    assert fr and all(p["fits"] for p in fr)


def test_cli_writes_json_and_png(tmp_path, capsys):
    assert main(["fpga", "explore", "study_bm25", "--out", str(tmp_path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["design"] == "study_bm25" and (tmp_path / "explore.png").stat().st_size > 1000
    assert (tmp_path / "explore.json").is_file()


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["fpga", "explore", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown FPGA design 'nope'" in capsys.readouterr().err
    assert main(["fpga", "explore", "topk", "--set", "bogus=1,2", "--out", str(tmp_path)]) == 2
    assert "no parameter 'bogus'" in capsys.readouterr().err
