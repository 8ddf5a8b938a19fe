"""Ingesting real FPGA results changes the U55C model as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hetsim import catalog
from hetsim.cli import main
from hetsim.costs.tables import read_table
from hetsim.costs import CostModel
from hetsim.fpga_kernels import estimate
from hetsim.graph import Task
from hetsim.ingest.xrt_csv import XRT_CSV_COLUMNS
from hetsim.loader import load_device_preset, validate
from hetsim.config.device import DeviceSpec

SAMPLE = Path(__file__).parent / "hls" / "data" / "csynth_streamhls_u55c.xml"
SHAPE = {"batch": 1, "num_keys": 32769, "num_heads": 64, "head_dim": 128}


def _device(path: Path) -> DeviceSpec:
    raw = yaml.safe_load(path.read_text())
    raw.pop("sources", None)
    for t in range(len(raw.get("cost_tables", []))):
        raw["cost_tables"][t] = str(path.parent / raw["cost_tables"][t])
    return validate(DeviceSpec, raw, file=str(path))


def _score_cost(dev: DeviceSpec, cm=None):
    task = Task("s", "compute_relevancy", "indexer_score", SHAPE)
    return (cm or CostModel()).price(task, dev)


def test_sample_report_updates_clock_depth_and_resources(tmp_path, capsys):
    out = tmp_path / "devices" / "u55c.yaml"
    assert main(["calibrate", "--from-hls-report", str(SAMPLE), "--kernel", "indexer_score",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "depth 60 -> 74" in printed
    # the resource model is set against the report (the sample is not a DSA indexer: far apart)
    assert "indexer_score: DSP model 2048 vs report 48" in printed
    entry = yaml.safe_load(out.read_text())["fpga"]["kernels"]["indexer_score"]
    # the sample: target 5 ns (200 MHz, met: estimated 3.65 ns), pipelined loops II 1 with
    # depths 74 / 5 / 3, 48 DSP and 6800 LUT
    assert entry["params"] == {"ii": 1, "depth": 74, "clock_hz": 200e6}
    assert entry["resources"]["DSP"] == 48 and entry["resources"]["LUT"] == 6800
    assert "csynth_streamhls_u55c.xml: Vitis HLS 2023.2" in entry["measured"]
    before_dev = load_device_preset("u55c")
    before = _score_cost(before_dev)
    after = _score_cost(_device(out))
    ch = {"channel_Bps": float(before_dev.fpga.channel_bandwidth_Bps)}  # 13.28 GB/s per pseudo-channel
    cyc_before = estimate("dsa_indexer_score", SHAPE, ch).cycles
    cyc_after = estimate("dsa_indexer_score", SHAPE, {**ch, "depth": 74, "clock_hz": 200e6}).cycles
    # at 200 MHz a port asks 12.8 GB/s, within its channel: only the depth adds cycles
    assert cyc_after == estimate("dsa_indexer_score", SHAPE).cycles + 14
    assert before.work_s == pytest.approx(cyc_before / 300e6)
    assert after.work_s == pytest.approx(cyc_after / 200e6)  # the slower synthesised clock


def test_too_many_compute_units_do_not_fit(tmp_path, capsys):
    big = tmp_path / "big.xml"
    text = SAMPLE.read_text()
    big.write_text(text.replace("<LUT>6800</LUT>", "<LUT>700000</LUT>", 1))
    dev = yaml.safe_load(catalog.load_preset("devices", "u55c").path.read_text())
    dev["fpga"]["kernels"]["indexer_score"]["compute_units"] = 2
    src = tmp_path / "u55c.yaml"
    src.write_text(yaml.safe_dump(dev))
    code = main(["calibrate", "--from-hls-report", str(big), "--kernel", "indexer_score",
                 "--device-file", str(src), "--out", str(tmp_path / "o.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "2 compute unit(s)" in err and "LUT" in err


def test_xrt_runs_become_a_table_that_prices_the_kernel(tmp_path, capsys):
    rows = [",".join(XRT_CSV_COLUMNS)]
    for n in (8192, 16384, 32768, 65536):
        for run, t in enumerate((1.0, 1.02, 0.99)):
            secs = (30e-6 + n * 16e-9) * t
            rows.append(f"dsa_indexer_score,batch=1;num_keys={n};num_heads=64;head_dim=128,{run},{secs},"
                        f"1e-5,2e-6,{n * 256},{n * 8},xilinx_u55c_gen3x16_xdma_base_3,hetsim.xclbin")
    csv = tmp_path / "runs.csv"
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "dm" / "devices" / "u55c.yaml"
    assert main(["calibrate", "--from-xrt-csv", str(csv), "--out", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    assert doc["cost_tables"] == ["u55c-xrt.json"]
    cost = _score_cost(_device(out), CostModel({"u55c": [read_table(out.parent / "u55c-xrt.json")]}))
    assert cost.source == "table:u55c-xrt"
    assert cost.latency_s == pytest.approx(30e-6 + 32769 * 16e-9, rel=0.05)


def test_ingest_without_a_matching_kernel_lists_the_hosted_ones(tmp_path, capsys):
    code = main(["calibrate", "--from-hls-report", str(SAMPLE), "--out", str(tmp_path / "x.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "streamhls" in err and "indexer_score" in err
