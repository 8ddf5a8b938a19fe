"""Report ingestion: the real Vitis HLS 2023.2 U55C csynth.xml (copied into tests/hls/data with
its provenance), synthetic undef/range/over-capacity variants, and the XRT host CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hetsim.errors import ConfigError
from hetsim.ingest import (U55C_CAPACITY, XRT_CSV_COLUMNS, CycleCount, check_resources, parse_csynth,
                           parse_xrt_csv, summarize_runs)
from hetsim.ingest.hls_report import parse_real_time

SAMPLE = Path(__file__).parent / "data" / "csynth_streamhls_u55c.xml"


@pytest.fixture(scope="module")
def report():
    return parse_csynth(SAMPLE)


def test_sample_header_and_clock(report):
    assert report.tool_version == "2023.2"
    assert report.part == "xcu55c-fsvh2892-2L-e"
    assert report.product_family == "virtexuplusHBM"
    assert report.top == "streamhls"
    assert report.flow_target == "vitis"
    assert report.pipeline_type == "dataflow"
    assert report.target_clock_period_s == pytest.approx(5.00e-9)
    assert report.clock_uncertainty_s == pytest.approx(1.35e-9)
    assert report.estimated_clock_period_s == pytest.approx(3.650e-9)
    assert report.target_clock_hz == pytest.approx(200e6)
    assert report.f_max_hz == pytest.approx(1 / 3.65e-9)  # ~274 MHz


def test_sample_latency_and_interval(report):
    for c in (report.latency_best, report.latency_avg, report.latency_worst):
        assert c.is_exact and c.value == 165
    assert report.interval_min.value == 91 and report.interval_max.value == 91
    assert report.dataflow_throughput == CycleCount(91, 91)


def test_sample_resources_and_capacity(report):
    assert report.resources == {"BRAM_18K": 30, "DSP": 48, "FF": 10567, "LUT": 6800, "URAM": 0}
    assert report.available == U55C_CAPACITY
    assert U55C_CAPACITY == {"LUT": 1_303_680, "FF": 2_607_360, "DSP": 9_024, "BRAM_18K": 4_032, "URAM": 960}
    assert check_resources(report) == []
    assert report.utilization()["DSP"] == pytest.approx(48 / 9024)


def test_sample_loops(report):
    loops = {(lp.module, lp.name): lp for lp in report.loops}
    assert set(loops) == {("fetch_from_hbm", "VITIS_LOOP_16_1"), ("process_kernel", "VITIS_LOOP_28_1"),
                          ("write_to_output_Pipeline_VITIS_LOOP_44_1", "VITIS_LOOP_44_1")}
    depths = {lp.name: lp.pipeline_depth.value for lp in report.loops}
    assert depths == {"VITIS_LOOP_16_1": 74, "VITIS_LOOP_28_1": 5, "VITIS_LOOP_44_1": 3}
    for lp in report.loops:
        assert lp.trip_count.value == 16 and lp.pipeline_ii.value == 1 and lp.pipelined
    assert {lp.name: lp.latency.value for lp in report.loops} == {
        "VITIS_LOOP_16_1": 88, "VITIS_LOOP_28_1": 19, "VITIS_LOOP_44_1": 17}


def _variant(tmp_path, old: str, new: str) -> Path:
    text = SAMPLE.read_text()
    assert old in text
    p = tmp_path / "csynth.xml"
    p.write_text(text.replace(old, new, 1))
    return p


def test_undef_latency_is_first_class(tmp_path):
    p = _variant(tmp_path, "<Worst-caseLatency>165</Worst-caseLatency>", "<Worst-caseLatency>undef</Worst-caseLatency>")
    r = parse_csynth(p)
    assert r.latency_worst.is_undef and str(r.latency_worst) == "undef"
    assert r.latency_best.value == 165
    with pytest.raises(ValueError):
        r.latency_worst.value


def test_range_latency_is_first_class(tmp_path):
    p = _variant(tmp_path, "<Average-caseLatency>165</Average-caseLatency>",
                 "<Average-caseLatency><range><min>495</min><max>10197</max></range></Average-caseLatency>")
    r = parse_csynth(p)
    assert r.latency_avg == CycleCount(495, 10197) and not r.latency_avg.is_exact
    assert str(r.latency_avg) == "495..10197"


def test_over_capacity_reported(tmp_path):
    p = _variant(tmp_path, "<DSP>48</DSP>", "<DSP>9500</DSP>")
    errors = check_resources(parse_csynth(p))
    assert len(errors) == 1 and "DSP 9500 exceeds the capacity 9024" in errors[0]


def test_other_part_flagged(tmp_path):
    p = _variant(tmp_path, "<URAM>960</URAM>", "<URAM>1280</URAM>")
    errors = check_resources(parse_csynth(p))
    assert any("1280 URAM available" in e for e in errors)


@pytest.mark.parametrize("old,new,field", [
    ("<EstimatedClockPeriod>3.650</EstimatedClockPeriod>", "<EstimatedClockPeriod>fast</EstimatedClockPeriod>",
     "EstimatedClockPeriod"),
    ("<Best-caseLatency>165</Best-caseLatency>", "<Best-caseLatency>1.5</Best-caseLatency>", "Best-caseLatency"),
    ("<TopModelName>streamhls</TopModelName>", "", "TopModelName"),
    ("<Interval-min>91</Interval-min>", "", "Interval-min"),
])
def test_malformed_fields_raise_config_error(tmp_path, old, new, field):
    p = _variant(tmp_path, old, new)
    with pytest.raises(ConfigError) as e:
        parse_csynth(p)
    assert e.value.file == str(p) and field in e.value.field


def test_not_a_report(tmp_path):
    bad = tmp_path / "x.xml"
    bad.write_text("<root/>")
    with pytest.raises(ConfigError, match="profile"):
        parse_csynth(bad)
    bad.write_text("<profile>")
    with pytest.raises(ConfigError, match="XML"):
        parse_csynth(bad)
    with pytest.raises(ConfigError, match="not found"):
        parse_csynth(tmp_path / "missing.xml")


def test_real_time_strings():
    assert parse_real_time("0.825 us") == pytest.approx(0.825e-6)
    assert parse_real_time("95.000 ns") == pytest.approx(95e-9)
    assert parse_real_time("undef") is None


CSV = (",".join(XRT_CSV_COLUMNS) + "\n"
       "dsa_indexer,batch=1;num_keys=65536;num_heads=64;head_dim=128;k=2048,0,0.00125,1.1e-05,2.0e-06,16777216,256,"
       "xilinx_u55c_gen3x16_xdma_base_3,hetsim.xclbin\n"
       "dsa_indexer,batch=1;num_keys=65536;num_heads=64;head_dim=128;k=2048,1,0.00121,1.0e-05,2.0e-06,16777216,256,"
       "xilinx_u55c_gen3x16_xdma_base_3,hetsim.xclbin\n"
       "dsa_indexer,batch=1;num_keys=65536;num_heads=64;head_dim=128;k=2048,2,0.00190,1.0e-05,2.0e-06,16777216,256,"
       "xilinx_u55c_gen3x16_xdma_base_3,hetsim.xclbin\n")


def test_xrt_csv_parses_and_summarizes(tmp_path):
    p = tmp_path / "runs.csv"
    p.write_text(CSV)
    runs = parse_xrt_csv(p)
    assert len(runs) == 3
    assert runs[0].kernel == "dsa_indexer" and runs[0].shape["num_keys"] == 65536 and runs[2].run == 2
    assert runs[0].kernel_time_s == pytest.approx(1.25e-3) and runs[0].bytes_in == 16777216
    summary = summarize_runs(runs)
    key = ("dsa_indexer", tuple(sorted(runs[0].shape.items())))
    assert summary[key] == pytest.approx(1.25e-3)  # median of 1.21, 1.25, 1.90 ms


@pytest.mark.parametrize("text,field", [
    ("kernel,shape\n", "header"),
    (CSV.replace("0.00121", "fast"), "row 2.kernel_time_s"),
    (CSV.replace(",1,0.00121", ",-1,0.00121"), "row 2.run"),
    (CSV.replace("batch=1;num_keys=65536", "batch=1;num_keys", 1), "row 1.shape"),
    (CSV.replace(",hetsim.xclbin\n", "\n", 1), "row 1"),
])
def test_xrt_csv_errors(tmp_path, text, field):
    p = tmp_path / "runs.csv"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        parse_xrt_csv(p)
    assert e.value.field == field and e.value.file == str(p)


# A second real report, from another Vitis version: Vitis HLS 2022.1, Zynq xc7z045 (see data/README.md).
IGCN = Path(__file__).parent / "data" / "csynth_igcn_2022_1_zynq.xml"


def test_vitis_2022_1_report_with_text_ranges_and_undef():
    r = parse_csynth(IGCN)
    assert (r.tool_version, r.part, r.top) == ("2022.1", "xc7z045-ffv900-3", "IGCN")
    assert r.tool_version != parse_csynth(SAMPLE).tool_version  # two different Vitis versions
    assert r.latency_best.is_undef and r.interval_max.is_undef
    loops = {(lp.module, lp.name): lp for lp in r.loops}
    ranged = loops[("IGCN_Pipeline_VITIS_LOOP_19_2", "VITIS_LOOP_19_2")]
    assert ranged.latency == CycleCount(0, 63)  # written as the text "0 ~ 63"
    assert ranged.trip_count == CycleCount(0, 63) and ranged.pipeline_ii.value == 1
    assert loops[("IGCN_Pipeline_VITIS_LOOP_12_1", "VITIS_LOOP_12_1")].trip_count.is_undef
    assert loops[("IGCN", "IGCN_label0/t_label1")].trip_count.value == 5
    assert [(lp.name, lp.latency.value) for lp in r.top_loops] == [("IGCN_label0", 120), ("IGCN_label0/t_label1", 10)]
    assert r.module_resources["IGCN"] == {"BRAM_18K": 2, "DSP": 0, "FF": 96, "LUT": 320, "URAM": 0}
    assert r.module_resources["IGCN_Pipeline_VITIS_LOOP_19_2"]["LUT"] == 70


def test_text_range_parse_and_malformed_range(tmp_path):
    text = IGCN.read_text().replace("<Latency>0 ~ 63</Latency>", "<Latency>0 ~ 6 ~ 3</Latency>")
    p = tmp_path / "csynth.xml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="range"):
        parse_csynth(p)


def test_report_for_another_part_is_refused_naming_both():
    from hetsim.ingest.hls_report import check_part

    check_part(parse_csynth(SAMPLE), "xcu55c-fsvh2892-2L-e", "u55c")
    with pytest.raises(ConfigError, match=r"xc7z045-ffv900-3.*xcu55c-fsvh2892-2L-e"):
        check_part(parse_csynth(IGCN), "xcu55c-fsvh2892-2L-e", "u55c")


def test_calibrate_refuses_a_report_for_another_part(tmp_path):
    from hetsim.ingest.update import ingest_hls
    from hetsim import catalog

    pr = catalog.load_preset("devices", "u55c")
    doc = catalog.read_yaml(pr.path)
    with pytest.raises(ConfigError, match=r"part xc7z045-ffv900-3 but device u55c is part xcu55c-fsvh2892-2L-e"):
        ingest_hls(doc, pr.path, str(IGCN), "indexer_topk")


# A third real report, older again: Vitis HLS 2020.1, Alveo U200 (xcu200), trimmed (see data/README.md).
SPARSE = Path(__file__).parent / "data" / "csynth_sparseaccel_2020_1_u200.xml"


def test_vitis_2020_1_report_nested_range_loops():
    r = parse_csynth(SPARSE)
    assert (r.tool_version, r.part, r.pipeline_type) == ("2020.1", "xcu200-fsgd2104-2-e", "none")
    assert (r.latency_best.value, r.latency_avg.value, r.latency_worst.value) == (50081, 68897, 87713)
    assert r.interval_min.value == 50082 and r.interval_max.value == 87714
    names = [lp.name for lp in r.top_loops]
    assert names[0] == "LOOP_K_MOST_OUTER" and names[-1].endswith("/LOOP_R_MOST_OUTER") and len(names) == 5
    assert r.top_loops[0].latency == CycleCount(50080, 87712) and r.top_loops[0].trip_count.value == 4
    assert r.resources == {"BRAM_18K": 88, "DSP": 98, "FF": 18001, "LUT": 17877, "URAM": 0}
    assert r.loops == [] and r.module_resources == {}  # 2020.1 writes no ModuleInformation


# ---- every real report in data/ (provenance in data/README.md), one row each ---------------------
# Values read by eye from each file: version, part, top, latency best/worst, interval min/max,
# resources (DSP from <DSP48E> in 2019.2), estimated clock period (ns), top-level loops.
DATA = Path(__file__).parent / "data"
REAL_REPORTS = [
    ("csynth_bjets_2018_2_artix7.xml", "2018.2", "xa7a12tcsg325-1q", "get_discriminant", ("0", "0"), ("1", "1"),
     {"BRAM_18K": 0, "DSP": 0, "FF": 0, "LUT": 0}, None, []),
    ("csynth_hls4ml_2019_2_u50.xml", "2019.2", "xcu50-fsvh2104-2L-e", "alveo_hls4ml", ("349", "2449"), ("350", "2450"),
     {"BRAM_18K": 8, "DSP": 8, "FF": 5858, "LUT": 13636, "URAM": 0}, 5.258, []),
    ("csynth_sparseaccel_2020_1_u200.xml", "2020.1", "xcu200-fsgd2104-2-e", "Conv_sysarr", ("50081", "87713"),
     ("50082", "87714"), {"BRAM_18K": 88, "DSP": 98, "FF": 18001, "LUT": 17877, "URAM": 0}, 7.3,
     [("LOOP_K_MOST_OUTER", False)]),
    ("csynth_partition_2020_2_vu11p.xml", "2020.2", "xcvu11p-flga2577-1-e", "system_top", ("undef", "undef"),
     ("undef", "undef"), {"BRAM_18K": 14, "DSP": 34, "FF": 19995, "LUT": 55711, "URAM": 0}, 12.12,
     [("Loop1", True), ("Loop2", True), ("Loop3", True), ("Loop4", True)]),
    ("csynth_igcn_2022_1_zynq.xml", "2022.1", "xc7z045-ffv900-3", "IGCN", ("undef", "undef"), ("undef", "undef"),
     {"BRAM_18K": 2, "DSP": 0, "FF": 96, "LUT": 320, "URAM": 0}, 6.751,
     [("IGCN_label0", False), ("IGCN_label0/t_label1", False)]),
    ("csynth_topk_2022_1_kv260.xml", "2022.1", "xck26-sfvc784-2LV-c", "topk_sort", ("105704", "115406"),
     ("105705", "115407"), {"BRAM_18K": 0, "DSP": 0, "FF": 13040, "LUT": 11733, "URAM": 0}, 2.598,
     [("VITIS_LOOP_30_2", False), ("VITIS_LOOP_57_4", False)]),
    ("csynth_vit_2022_2_kv260.xml", "2022.2", "xck26-sfvc784-2LV-c", "ViT_act", ("undef", "undef"), ("undef", "undef"),
     {"BRAM_18K": 902, "DSP": 1452, "FF": 172584, "LUT": 270827, "URAM": 0}, 7.674,
     [("_ln124_for_each_image", False), ("_ln124_for_each_image/_ln131_for_each_layer", False)]),
    ("csynth_streamhls_u55c.xml", "2023.2", "xcu55c-fsvh2892-2L-e", "streamhls", ("165", "165"), ("91", "91"),
     {"BRAM_18K": 30, "DSP": 48, "FF": 10567, "LUT": 6800, "URAM": 0}, 3.65, []),
    ("csynth_basicout_2023_1_zynq.xml", "2023.1", "xc7z030-sbg485-1", "basic_output", ("0", "0"), ("1", "1"),
     {"BRAM_18K": 0, "DSP": 0, "FF": 0, "LUT": 0, "URAM": 0}, None, []),
    ("csynth_wrr_2024_1_zynq.xml", "2024.1", "xc7z020-clg400-1", "weighted_rr", ("11", "143"), ("12", "144"),
     {"BRAM_18K": 5, "DSP": 0, "FF": 1751, "LUT": 2496, "URAM": 0}, 7.3, []),
]


@pytest.mark.parametrize("name,version,part,top,lat,ii,res,period_ns,loops", REAL_REPORTS,
                         ids=[r[0] for r in REAL_REPORTS])
def test_every_real_report_reads_its_own_values(name, version, part, top, lat, ii, res, period_ns, loops):
    r = parse_csynth(DATA / name)
    assert (r.tool_version, r.part, r.top) == (version, part, top)
    assert (str(r.latency_best), str(r.latency_worst)) == lat
    assert (str(r.interval_min), str(r.interval_max)) == ii
    assert r.resources == res and set(r.available) == set(res)  # every resource, the DSP alias included
    assert r.estimated_clock_period_s == (None if period_ns is None else pytest.approx(period_ns * 1e-9))
    assert [(lp.name, lp.pipelined) for lp in r.top_loops][:len(loops)] == loops


def test_real_reports_cover_the_versions_from_2018_2_to_2024_1():
    assert {r[1] for r in REAL_REPORTS} == {"2018.2", "2019.2", "2020.1", "2020.2", "2022.1", "2022.2", "2023.1",
                                            "2023.2", "2024.1"}
    assert sorted(p.name for p in DATA.glob("csynth_*.xml")) == sorted(r[0] for r in REAL_REPORTS)


def test_vivado_hls_2019_dsp48e_is_the_dsp_count():
    r = parse_csynth(DATA / "csynth_hls4ml_2019_2_u50.xml")
    assert r.resources["DSP"] == 8 and r.available["DSP"] == 5952  # written <DSP48E>
    assert check_resources(r, r.available) == []  # fits the U50 it was made for
    assert not any("DSP" in e and "not reported" in e for e in check_resources(r))


def test_combinational_2018_report_has_no_clock_estimate_and_no_uram():
    r = parse_csynth(DATA / "csynth_bjets_2018_2_artix7.xml")  # EstimatedClockPeriod 0.000
    assert r.estimated_clock_period_s is None and r.f_max_hz is None
    assert r.target_clock_hz == pytest.approx(100e6)
    assert "URAM" not in r.resources and "URAM" not in r.available  # a 7-series part has none
    assert any("URAM not reported" in e for e in check_resources(r))


def test_2024_1_dataflow_top_and_auto_rewind_module_loop():
    r = parse_csynth(DATA / "csynth_wrr_2024_1_zynq.xml")
    assert r.pipeline_type == "dataflow" and r.latency_avg.value == 52
    assert r.dataflow_throughput == CycleCount(12, 144)  # a <range> under DataflowPipelineThroughput
    (loop,) = r.loops  # the module's PipelineType is "loop auto-rewind (delay=0 clock cycles(s))"
    assert (loop.module, loop.name) == ("Block_entry_split_proc_Pipeline_VITIS_LOOP_29_2", "VITIS_LOOP_29_2")
    assert loop.trip_count == CycleCount(1, 4) and loop.latency == CycleCount(41, 104)  # <range>, "41 ~ 104"
    assert (loop.pipeline_ii.value, loop.pipeline_depth.value, loop.pipelined) == (21, 21, True)
    assert r.module_resources["Block_entry_split_proc"] == {"BRAM_18K": 1, "DSP": 0, "FF": 643, "LUT": 1285, "URAM": 0}


def test_2023_1_combinational_top_has_no_clock_estimate():
    r = parse_csynth(DATA / "csynth_basicout_2023_1_zynq.xml")  # Vitis HLS also writes 0.000 here
    assert r.estimated_clock_period_s is None and r.latency_worst.value == 0 and r.interval_max.value == 1


def test_2022_1_mixed_undef_average_and_range_loop():
    r = parse_csynth(DATA / "csynth_topk_2022_1_kv260.xml")  # hardware.md §7.1's range example (S58)
    assert r.latency_avg.is_undef and r.latency_best.value == 105704
    loop = r.top_loops[1]
    assert loop.latency == CycleCount(495, 10197) and loop.iteration_latency == CycleCount(5, 103)
    assert loop.trip_count.value == 99


def test_a_report_over_its_own_device_is_flagged():
    r = parse_csynth(DATA / "csynth_vit_2022_2_kv260.xml")  # 902 BRAM_18K on a 288-BRAM KV260
    errors = check_resources(r, r.available)
    assert any("BRAM_18K 902 exceeds the capacity 288" in e for e in errors)
    assert any("LUT 270827 exceeds the capacity 117120" in e for e in errors)


def test_ingest_takes_ii_and_depth_from_top_loops_when_no_module_loops(tmp_path):
    """2020.x reports have no ModuleInformation: the top-level loop summary is all there is."""
    from hetsim import catalog
    from hetsim.ingest.update import ingest_hls

    text = (DATA / "csynth_partition_2020_2_vu11p.xml").read_text()
    text = text.replace("xcvu11p-flga2577-1-e", "xcu55c-fsvh2892-2L-e")
    for k, v in U55C_CAPACITY.items():  # the same design, as if synthesised for the U55C
        text = re.sub(rf"(<AvailableResources>.*?<{k}>)\d+(</{k}>)", rf"\g<1>{v}\g<2>", text, flags=re.S)
    p = tmp_path / "csynth.xml"
    p.write_text(text)
    pr = catalog.load_preset("devices", "u55c")
    doc = catalog.read_yaml(pr.path)
    lines = ingest_hls(doc, pr.path, str(p), "indexer_score")
    params = doc["fpga"]["kernels"]["indexer_score"]["params"]
    assert params["ii"] == 1 and params["depth"] == 2  # Loop1-4: II 1, depths 2, 2, 2, 1
    assert params["clock_hz"] == pytest.approx(1 / 12.12e-9)  # 100 MHz asked, 82.5 MHz estimated
    assert any("depth" in ln for ln in lines)


def test_text_report_is_refused_naming_the_xml(tmp_path):
    rpt = tmp_path / "csynth.rpt"  # the header of the text twin (hardware.md §7.2)
    rpt.write_text("================================================================\n"
                   "== Synthesis Summary Report of 'top'\n"
                   "================================================================\n+ General Information:\n")
    with pytest.raises(ConfigError, match=r"text report \(csynth.rpt\); pass the csynth.xml") as e:
        parse_csynth(rpt)
    assert e.value.file == str(rpt)


@pytest.mark.parametrize("name", ["xrt_profile_summary_2019_2_u50.csv", "xrt_opencl_summary_2021_1_u280.csv",
                                  "xrt_summary_2022_2_u280.csv"])
def test_xrt_profile_summary_is_refused_saying_which_csv(capsys, name):
    """XRT 2019.2 (profile_summary.csv), XRT 2.11 / 2021.1 (opencl_summary.csv), XRT 2.14 / 2022.2 (summary.csv)."""
    from hetsim.cli import main

    f = DATA / name
    with pytest.raises(ConfigError, match="XRT profile summary") as e:
        parse_xrt_csv(f)
    assert e.value.field == "header" and "hetsim_host" in e.value.detail
    assert main(["calibrate", "--from-xrt-csv", str(f), "--out", "/nonexistent/x.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "profile summary" in err and "Traceback" not in err


@pytest.mark.parametrize("layout", ["solution1/syn/report", "comp/hls/syn/report"])
def test_a_solution_or_component_directory_finds_its_report(tmp_path, layout):
    """Vitis HLS solutions keep the report in syn/report; Vitis Unified components in hls/syn/report."""
    d = tmp_path / layout
    d.mkdir(parents=True)
    (d / "csynth.xml").write_bytes(SAMPLE.read_bytes())
    top = tmp_path / layout.split("/")[0]
    r = parse_csynth(top)
    assert r.top == "streamhls" and r.file == str(d / "csynth.xml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"syn/report/csynth.xml and hls/syn/report/csynth.xml") as e:
        parse_csynth(empty)
    assert e.value.file == str(empty)


def test_xrt_run_summary_is_refused_naming_it(capsys):
    from hetsim.cli import main

    f = DATA / "xrt_run_summary_2022_2_u280.json"  # was: "header must be ...,got ['{']"
    with pytest.raises(ConfigError, match=r"run summary \(xrt.run_summary") as e:
        parse_xrt_csv(f)
    assert e.value.field == "header" and "hetsim_host" in e.value.detail
    assert main(["calibrate", "--from-xrt-csv", str(f), "--out", "/nonexistent/x.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run summary" in err


def test_each_reader_refuses_the_other_files_in_one_line():
    """Cross-feeding the real files: csynth.xml to the XRT reader and XRT files to the report reader."""
    from hetsim.errors import HetsimError

    for f in sorted(DATA.glob("*.*")):
        for reader, own in ((parse_csynth, f.suffix == ".xml"), (parse_xrt_csv, False)):
            if own:
                reader(f)
                continue
            with pytest.raises(HetsimError) as e:
                reader(f)
            assert e.value.file == str(f) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="XRT profile summary, not a synthesis report"):
        parse_csynth(DATA / "xrt_profile_summary_2019_2_u50.csv")
