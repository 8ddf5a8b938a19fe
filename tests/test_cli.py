"""The CLI end to end: outputs written, and bad input gives one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hetsim.cli import main

INLINE_GPU = {
    "name": "g", "kind": "gpu",
    "memory": {"capacity_bytes": "80 GB", "peak_bandwidth_Bps": "2 TB/s",
               "achievable_bandwidth_Bps": "1.7 TB/s"},
    "peak_flop_per_s": {"bf16": "312 TFLOP/s"},
    "efficiency": {"default": {"compute": 0.8, "memory": 0.9}},
    "launch_overhead_s": "5 us",
    "power": {"idle_w": 50, "active_w": 300},
}


def _scenario(tmp_path: Path, **over) -> Path:
    doc = {"name": "t", "system": {"devices": [INLINE_GPU]},
           "workload": {"name": "custom", "params": {
               "tasks": [{"name": "a", "step": "model", "kernel": "gemm",
                          "shape": {"m": 1, "n": 4096, "k": 4096}},
                         {"name": "b", "step": "retrieval", "kernel": "topk",
                          "shape": {"batch": 1, "num_items": 4096, "k": 64}}],
               "edges": [{"from": "a", "to": "b", "bytes": 8192}]}},
           "mapping": {"policy": "gpu-only"}}
    for k, v in over.items():
        doc[k] = v
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _user_error(capsys, argv) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("hetsim: error: ")
    return err


def test_run_writes_three_files_and_json(tmp_path, capsys):
    s = _scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(s), "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("makespan_s", "energy_j", "tasks", "memory_processing_fraction", "steps",
                "devices", "links"):
        assert key in res
    assert set(res["steps"]) == {"prepare_memory", "compute_relevancy", "retrieval",
                                 "apply_to_inference", "transfer", "model"}
    for f in ("result.json", "trace.json", "timeline.png"):
        assert (out / f).stat().st_size > 0
    trace = json.loads((out / "trace.json").read_text())
    assert any(e["ph"] == "X" and e["name"] == "b" for e in trace["traceEvents"])
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cycle_in_graph_is_one_line_exit_2(tmp_path, capsys):
    s = _scenario(tmp_path)
    doc = yaml.safe_load(s.read_text())
    doc["workload"]["params"]["edges"].append({"from": "b", "to": "a", "bytes": 0})
    s.write_text(yaml.safe_dump(doc))
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert "cycle" in err and "a -> b -> a" in err


def test_unknown_device_is_one_line_exit_2(tmp_path, capsys):
    s = _scenario(tmp_path, mapping={"policy": "gpu-only", "params": {"gpu": "nope"}})
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert "unknown device 'nope'" in err


def test_unknown_device_preset_is_one_line_exit_2(tmp_path, capsys):
    s = _scenario(tmp_path, system={"devices": [{"preset": "mi999"}]})
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert "system.devices.0.preset" in err and "unknown device preset 'mi999'" in err
    assert "mi210" in err  # lists what is allowed


def test_negative_bandwidth_names_file_and_field(tmp_path, capsys):
    dev = json.loads(json.dumps(INLINE_GPU))
    dev["memory"]["achievable_bandwidth_Bps"] = -5
    s = _scenario(tmp_path, system={"devices": [dev]})
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert str(s) in err
    assert "system.devices.0.memory.achievable_bandwidth_Bps" in err
    assert "must be >= 1 B/s, got -5" in err


@pytest.mark.parametrize("bad,needle", [
    ({"workload": {"name": "nosuch"}}, "unknown workload 'nosuch'"),
    ({"mapping": {"policy": "magic"}}, "unknown mapping policy 'magic'"),
    ({"run": {"queue_policy": "lifo"}}, "run.queue_policy"),
    ({"seed": -1}, "seed"),
    ({"extra": 1}, "extra: unknown field"),
])
def test_bad_scenario_fields(tmp_path, capsys, bad, needle):
    s = _scenario(tmp_path, **bad)
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert needle in err


def test_bad_unit_and_yaml_syntax(tmp_path, capsys):
    dev = json.loads(json.dumps(INLINE_GPU))
    dev["launch_overhead_s"] = "5 GB"
    s = _scenario(tmp_path, system={"devices": [dev]})
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert "launch_overhead_s" in err and "expected a quantity in s" in err
    s.write_text("name: [unclosed\n")
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    assert "invalid YAML at line" in err


def test_missing_scenario_file(tmp_path, capsys):
    err = _user_error(capsys, ["run", str(tmp_path / "nope.yaml")])
    assert "file not found" in err


def test_capacity_overflow_is_reported(tmp_path, capsys):
    s = _scenario(tmp_path)
    doc = yaml.safe_load(s.read_text())
    doc["workload"]["params"]["data"] = {"kv": 10**12}
    doc["workload"]["params"]["tasks"][0]["data"] = ["kv"]
    s.write_text(yaml.safe_dump(doc))
    err = _user_error(capsys, ["run", str(s), "--out", str(tmp_path / "o")])
    # the size guard answers before any mapping is tried
    assert "s.yaml: workload.params:" in err and "'kv' needs 1 TB" in err and "80 GB" in err


def test_devices_list_show_and_check(capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "mi210" in out and "u55c" in out and "p2p-host-jump" in out
    assert main(["devices", "show", "mi210", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert all(row["source"] for row in shown["numbers"])
    assert main(["devices", "check"]) == 0


def test_devices_check_fails_on_a_number_without_source(tmp_path, capsys):
    src = Path(__file__).resolve().parents[1] / "device_models" / "devices" / "mi210.yaml"
    doc = yaml.safe_load(src.read_text())
    doc["name"] = "broken"
    doc["launch_overhead_s"] = 5e-6  # plain number, no source
    p = tmp_path / "broken.yaml"
    p.write_text(yaml.safe_dump(doc))
    code = main(["devices", "check", str(p)])
    captured = capsys.readouterr()
    assert code == 2
    assert "launch_overhead_s: number 5e-06 has no 'source'" in captured.out


def test_console_script_runs_default_compare(tmp_path):
    """The installed entry point, as a user types it (default scenario, both mappings)."""
    proc = subprocess.run([sys.executable, "-m", "hetsim.cli", "compare", "--json",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)
    assert cmp["speedup"] == pytest.approx(cmp["baseline"]["makespan_s"] / cmp["candidate"]["makespan_s"])
    assert cmp["energy_reduction"] > 0
    assert (tmp_path / "compare.png").exists()


def test_map_prints_best_and_pareto_and_writes_plot(tmp_path, capsys):
    s = _scenario(tmp_path, system={"devices": [INLINE_GPU, {**INLINE_GPU, "name": "g2",
                                                               "peak_flop_per_s": {"bf16": "100 TFLOP/s"}}],
                                    "links": [{"spec": {"name": "nv", "forward": {
                                        "model": "alpha_beta", "latency_s": "2 us",
                                        "bandwidth_Bps": "50 GB/s"}}, "between": ["g", "g2"]}]})
    assert main(["map", str(s), "--objective", "edp", "--out", str(tmp_path / "m"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "exhaustive" and doc["proven_optimal"]
    assert doc["space_size"] == 4 and doc["evaluated"] == 4
    assert doc["best"][0]["value"] == min(b["value"] for b in doc["best"])
    assert doc["pareto"]
    assert (tmp_path / "m" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
