"""Sweeps write every run as it finishes and resume where they stopped."""

from __future__ import annotations

import json

import pytest
import yaml

from hetsim.cli import main
from hetsim.errors import ConfigError
from hetsim.sweep import parse_axis, set_path, sweep

SCENARIO = {
    "name": "sw",
    "system": {"devices": [{"preset": "mi210", "name": "gpu"}]},
    "workload": {"name": "dsa_decode", "params": {"context_len": 1024, "batch": 1, "num_layers": 2}},
    "mapping": {"policy": "gpu-only"},
}


def _file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(SCENARIO))
    return str(p)


def test_parse_axis_and_set_path():
    ax = parse_axis("workload.params.context_len=1024, 2048")
    assert ax.path == "workload.params.context_len" and ax.values == (1024, 2048)
    doc = {"a": [{"b": 1}]}
    set_path(doc, "a.0.b", 5)
    assert doc == {"a": [{"b": 5}]}
    with pytest.raises(ConfigError):
        parse_axis("no-equals-sign")
    with pytest.raises(ConfigError):
        set_path(doc, "a.3.b", 1)


def test_sweep_is_incremental_and_resumes(tmp_path):
    s = _file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024,4096,16384")]
    seen = []
    rows = sweep(s, axes, ["gpu-only"], tmp_path / "o", on_result=lambda r, d, t: seen.append(d))
    assert len(rows) == 3 and seen == [1, 2, 3]
    assert rows[0]["makespan_s"] < rows[2]["makespan_s"]  # longer context, more indexing
    lines = (tmp_path / "o" / "sweep.jsonl").read_text().splitlines()
    assert len(lines) == 3
    # an interrupted sweep: the last run lost, plus a torn half-written line
    (tmp_path / "o" / "sweep.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])
    seen.clear()
    rows2 = sweep(s, axes, ["gpu-only"], tmp_path / "o", on_result=lambda r, d, t: seen.append(d))
    assert seen == [3]  # only the missing run was simulated
    assert [r["makespan_s"] for r in rows2] == [r["makespan_s"] for r in rows]


def test_sweep_rejects_a_bad_axis_before_running(tmp_path, capsys):
    s = _file(tmp_path)
    code = main(["sweep", s, "--set", "workload.params.context_len=1024,-5", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "context_len" in err
    assert not (tmp_path / "o" / "sweep.jsonl").exists()


def test_sweep_cli_writes_csv_and_plot(tmp_path, capsys):
    s = _file(tmp_path)
    assert main(["sweep", s, "--set", "workload.params.batch=1,2", "--mappings", "gpu-only",
                 "--out", str(tmp_path / "o"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["point"]["workload.params.batch"] for r in rows] == [1, 2]
    assert (tmp_path / "o" / "sweep.csv").read_text().count("\n") == 3
    assert (tmp_path / "o" / "sweep.png").exists()
