"""Power-tool parsers on sample output (tests/calibration/data, provenance in each file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibration import power
from calibration.power import (RaplReader, energy_delta_uj, find_reader, parse_nvidia_smi_csv,
                               parse_rocm_smi_json, parse_rocm_smi_text, parse_xbutil_json,
                               parse_xbutil_text, rapl_power_w)
from calibration.power._base import parse_float, run_tool

DATA = Path(__file__).parent / "data"


def sample(name: str) -> str:
    """A sample file without its '#' provenance header."""
    return "".join(l for l in (DATA / name).read_text().splitlines(keepends=True)
                   if not l.startswith("#"))


# ---- XRT xbutil -----------------------------------------------------------------------------

def test_xbutil_text_sample_from_hardware_md():
    e = parse_xbutil_text(sample("xbutil_electrical.txt"))
    assert e.max_power_w == 225.0
    assert e.reported_power_w == pytest.approx(5.979788)
    assert e.rails["12v_pex"] == (12.010, 0.490)
    assert e.rails["vccint"] == (0.719, 1.300)
    # board power = 12 V AUX + 12 V PEX; this card has no AUX rail; VCCINT is not added
    assert e.power_w == pytest.approx(12.010 * 0.490)


def test_xbutil_json_board_power_is_aux_plus_pex_not_vccint():
    e = parse_xbutil_json(sample("xbutil_electrical_u280.json"))
    assert e.reported_power_w == pytest.approx(35.647)
    assert e.max_power_w == 225.0
    assert e.power_w == pytest.approx(12.0 * 1.55 + 12.4 * 1.375)  # 18.60 W + 17.05 W
    assert e.power_w == pytest.approx(35.65, abs=0.01)
    assert e.rails["3v3_pex"] == (None, None)  # is_present false
    assert e.rails["hbm_1v2"] == (1.2, None)
    assert e.rails["vccint"][1] == pytest.approx(11.306)


def test_xbutil_text_na_and_missing_rails():
    e = parse_xbutil_text(sample("xbutil_electrical_na.txt"))
    assert e.reported_power_w is None
    assert e.rails["12v_aux"] == (None, None)
    assert "12v_pex" not in e.rails
    assert e.rails["5v5_system"] == (5.5, None)
    assert e.power_w is None  # no 12 V current and no reported power: no reading


def test_xbutil_json_nested_under_devices_and_fallback_to_reported():
    text = ('{"devices": [{"electrical": {"power_consumption_watts": "41.5", '
            '"power_rails": []}}]}')
    e = parse_xbutil_json(text)
    assert e.power_w == 41.5 and e.reported_power_w == 41.5
    with pytest.raises(ValueError):
        parse_xbutil_json('{"thermals": []}')


# ---- rocm-smi -------------------------------------------------------------------------------

def test_rocm_json_sample_from_hardware_md():
    assert parse_rocm_smi_json(sample("rocm_smi_showpower.json")) == {"card0": 19.0}


def test_rocm_json_both_keys_and_secondary_die():
    got = parse_rocm_smi_json(sample("rocm_smi_showpower_mi250_mi300.json"))
    assert got == {"card0": 553.0, "card1": 237.0, "card2": None}


def test_rocm_text_lines():
    assert parse_rocm_smi_text(sample("rocm_smi_showpower.txt")) == {"card0": 237.0, "card1": 98.0}


# ---- nvidia-smi -----------------------------------------------------------------------------

def test_nvidia_csv_with_na():
    rows = parse_nvidia_smi_csv(sample("nvidia_smi_power.csv"))
    assert rows == [("2026/11/25 02:40:01.123", 71.35), ("2026/11/25 02:40:01.123", None)]


def test_nvidia_csv_header_units_and_not_supported():
    text = "timestamp, power.draw [W]\n2026/01/01 00:00:00.000, 45.00 W\n2026/01/01 00:00:00.000, [Not Supported]\n"
    assert parse_nvidia_smi_csv(text) == [("2026/01/01 00:00:00.000", 45.0),
                                          ("2026/01/01 00:00:00.000", None)]
    assert parse_nvidia_smi_csv("") == []


# ---- RAPL -----------------------------------------------------------------------------------

def test_rapl_wraparound_sample():
    kv = dict(line.split() for line in sample("rapl_counters.txt").splitlines() if line.strip())
    rng, e0, e1 = int(kv["max_energy_range_uj"]), int(kv["energy_uj_before"]), int(kv["energy_uj_after"])
    assert energy_delta_uj(e0, e1, rng) == 15_000_000
    assert rapl_power_w(e0, e1, rng, float(kv["interval_s"])) == pytest.approx(30.0)
    assert energy_delta_uj(100, 600, rng) == 500
    assert rapl_power_w(0, 1, rng, 0.0) is None


def test_rapl_reader_over_a_fake_powercap_tree(tmp_path, monkeypatch):
    zone = tmp_path / "intel-rapl:0"
    sub = tmp_path / "intel-rapl:0:0"  # a sub-zone (core) must not be double counted
    for z in (zone, sub):
        z.mkdir()
        (z / "max_energy_range_uj").write_text("1000000\n")
        (z / "energy_uj").write_text("999000\n")
    clock = iter([10.0, 10.5])
    monkeypatch.setattr(power.rapl, "now_s", lambda: next(clock))
    reader = RaplReader(power.rapl.package_zones(str(tmp_path / "intel-rapl:*")))
    assert [Path(z).name for z in reader.zones] == ["intel-rapl:0"]
    assert reader.read() is None  # first call only records the counters
    (zone / "energy_uj").write_text("4000\n")  # wrapped: 1000 + 4000 uJ in 0.5 s
    s = reader.read()
    assert s.power_w == pytest.approx(5000e-6 / 0.5) and s.source == "rapl"


def test_rapl_psys_zone_is_not_added_to_the_package(tmp_path, monkeypatch):
    rows = [line.split() for line in sample("rapl_psys_zones.txt").splitlines() if line.strip()]
    interval = float(next(r[1] for r in rows if r[0] == "interval_s"))
    zones = [r for r in rows if r[0].startswith("intel-rapl:")]
    for zid, name, rng, before, _ in zones:
        (tmp_path / zid).mkdir()
        (tmp_path / zid / "name").write_text(name + "\n")
        (tmp_path / zid / "max_energy_range_uj").write_text(rng + "\n")
        (tmp_path / zid / "energy_uj").write_text(before + "\n")
    clock = iter([10.0, 10.0 + interval])
    monkeypatch.setattr(power.rapl, "now_s", lambda: next(clock))
    reader = RaplReader(power.rapl.package_zones(str(tmp_path / "intel-rapl:*")))
    assert [Path(z).name for z in reader.zones] == ["intel-rapl:0"]  # psys left out
    assert reader.read() is None
    for zid, _, _, _, after in zones:
        (tmp_path / zid / "energy_uj").write_text(after + "\n")
    assert reader.read().power_w == pytest.approx(5.0 / 0.5)  # the package's 5 J, not 5 J + 9 J


def test_rapl_reader_without_permission_is_unavailable(tmp_path):
    reader = RaplReader([str(tmp_path / "intel-rapl:9")])
    assert not reader.available() and reader.read() is None


# ---- readers without tools ------------------------------------------------------------------

def test_no_tools_means_no_reader(monkeypatch):
    monkeypatch.setattr(power.shutil, "which", lambda name: None)
    monkeypatch.setattr(power.rapl, "POWERCAP_GLOB", "/nonexistent/intel-rapl:*")
    monkeypatch.setattr(power, "RaplReader", lambda: RaplReader([]))
    for kind in ("cpu", "cuda", "rocm", "fpga", "tpu"):
        assert find_reader(kind) is None
    assert run_tool(["definitely-not-a-tool-hetsim"]) is None


@pytest.mark.parametrize("text, value", [("19.0", 19.0), ("45.2 W", 45.2), ("[N/A]", None),
                                         ("N/A (Secondary die)", None), ("225 Watts", 225.0),
                                         ("nan", None), ("", None)])
def test_parse_float(text, value):
    assert parse_float(text) == value


# ---- every real tool output in data/ (provenance in each file's '#' header), one row each --------
from calibration.power import PowerParseError, parse_amd_smi  # noqa: E402

REAL_POWER = [
    # xbutil: board power = input rails (12 V AUX + 12 V PEX + 3.3 V PEX + 3.3 V AUX), V x A
    ("xbutil_electrical_u55c_xrt217.txt", parse_xbutil_text,
     lambda e: (e.power_w, e.reported_power_w, e.rails["12v_aux"]),
     (pytest.approx(12.256 * 0.481 + 12.240 * 0.985 + 3.360 * 1.040), 21.445936, (12.256, 0.481))),
    ("xbutil_electrical_xrt2020.txt", parse_xbutil_text,
     lambda e: (e.power_w, e.reported_power_w, e.rails["12v_aux"], e.rails["vccint"]),
     (pytest.approx(12.058 * 1.445), 17.42381, (0.45, None), (0.851, 5.618))),
    ("xbutil_electrical_u50_2021.txt", parse_xbutil_text,
     lambda e: (e.power_w, e.reported_power_w, e.rails["hbm_1v2"], e.rails["vpp2v5"]),
     (pytest.approx(12.213 * 1.363 + 3.300 * 0.223), None, (1.198, None), (2.512, None))),
    # rocm-smi: JSON from 2019 and 2025, text of four MI250 and of ROCm 6.0
    ("rocm_smi_json_2019.json", parse_rocm_smi_json, lambda v: v, {"card0": 222.0}),
    ("rocm_smi_json_rx7900xtx.json", parse_rocm_smi_json, lambda v: v, {"card0": 19.0}),
    ("rocm_smi_all_json_mi250.json", parse_rocm_smi_json, lambda v: v, {"card0": 144.0}),
    ("rocm_smi_showpower_mi250x4.txt", parse_rocm_smi_text, lambda v: v,
     {"card0": 237.0, "card1": None, "card2": 230.0, "card3": None, "card4": 220.0, "card5": None,
      "card6": 235.0, "card7": None}),
    ("rocm_smi_showpower_rocm6.txt", parse_rocm_smi_text, lambda v: v, {"card0": None, "card1": 4.0, "card2": 3.0}),
    ("rocm_smi_all_mi300x4.txt", parse_rocm_smi_text, lambda v: v,
     {"card0": 133.0, "card1": 130.0, "card2": 131.0, "card3": 136.0}),
    # amd-smi: text, JSON under gpu_data (AMD-SMI 26), watch-mode JSON list with N/A power
    ("amdsmi_metric_text.txt", parse_amd_smi, lambda v: v, {0: 20.0}),
    ("amdsmi_metric_gpu_data_rx7800xt.json", parse_amd_smi, lambda v: v, {0: 9.0}),
    ("amdsmi_metric_watch_na.json", parse_amd_smi, lambda v: v, {0: None}),
    # nvidia-smi with a header: power.draw found by name in the 7th and the 3rd column
    ("nvidia_smi_name_first.csv", parse_nvidia_smi_csv, lambda v: v, [("", 106.56), ("", 5.68)]),
    ("nvidia_smi_unknown_error.csv", parse_nvidia_smi_csv, lambda v: v, [("", 228.82)]),
    ("nvidia_smi_index_first.csv", parse_nvidia_smi_csv, lambda v: v,
     [("2019/08/23 14:54:47.307", 208.36), ("2019/08/23 14:54:48.310", 249.62),
      ("2019/08/23 14:54:49.315", 205.51)]),
]


@pytest.mark.parametrize("name,parser,pick,expected", REAL_POWER, ids=[r[0] for r in REAL_POWER])
def test_every_real_power_sample_reads_its_own_values(name, parser, pick, expected):
    assert pick(parser(sample(name))) == expected


def test_nvidia_smi_error_status_in_the_power_cell_is_no_reading():
    # the status nvidia-smi printed in another cell of the real sample, put in the power.draw cell of a
    # second GPU (constructed): one GPU's NVML error must not lose the other GPUs' readings
    real = sample("nvidia_smi_unknown_error.csv")
    status = real.strip().split(", ")[-1]
    assert status == "[Unknown Error]"
    text = "timestamp, power.draw [W]\n2020/02/16 10:00:00.000, 228.82 W\n2020/02/16 10:00:00.000, " + status + "\n"
    assert parse_nvidia_smi_csv(text) == [("2020/02/16 10:00:00.000", 228.82), ("2020/02/16 10:00:00.000", None)]
    assert parse_nvidia_smi_csv("[Insufficient Permissions]\n") == [("", None)]


def test_rocm_smi_power_cap_is_never_the_reading():
    text = sample("rocm_smi_all_mi300x4.txt")
    cap, rest = text.split("==========================================================================================\n", 1)
    with pytest.raises(PowerParseError):  # the "Power Cap" section alone holds no reading (was 750 W per card)
        parse_rocm_smi_text(cap)
    assert parse_rocm_smi_text(rest + cap) == parse_rocm_smi_text(text)  # the order of sections does not matter


def test_every_data_file_is_in_a_table():
    tabled = {r[0] for r in REAL_POWER} | {
        "xbutil_electrical.txt", "xbutil_electrical_na.txt", "xbutil_electrical_u280.json", "rocm_smi_showpower.json",
        "rocm_smi_showpower.txt", "rocm_smi_showpower_mi250_mi300.json", "nvidia_smi_power.csv", "rapl_counters.txt",
        "rapl_psys_zones.txt"}
    assert {p.name for p in DATA.iterdir()} == tabled
    for p in DATA.iterdir():
        assert p.read_text().startswith("# provenance:"), p.name


@pytest.mark.parametrize("parser,text,tool,field", [
    (parse_nvidia_smi_csv, "name, fan.speed [%]\nGeForce GTX 1080 Ti, 29 %\n", "nvidia-smi", "header"),
    (parse_nvidia_smi_csv, "2026/01/01 00:00:00.000, fast\n", "nvidia-smi", "line 1"),
    (parse_xbutil_text, "Thermals\n  FPGA : 39 C\n", "xbutil", "Electrical"),
    (parse_xbutil_json, '{"thermals": []}', "xbutil", "electrical"),
    (parse_xbutil_json, "Error: device not found", "xbutil", "stdout"),
    (parse_rocm_smi_json, '["card0"]', "rocm-smi", "root"),
    (parse_rocm_smi_json, '{"gpu_data": [{"gpu": 0, "power": {"socket_power": 9}}]}', "rocm-smi", "root"),
    (parse_rocm_smi_text, "GPU[0]\t\t: Temperature (Sensor edge) (C): 49.0\n", "rocm-smi", "text"),
    (parse_amd_smi, '{"gpu_data": [{"gpu": 0, "power": {"socket_power": {"value": 5, "unit": "kW"}}}]}',
     "amd-smi", "gpu_data[0].power.socket_power"),
    (parse_amd_smi, '[{"gpu": "zero", "power": {}}]', "amd-smi", "gpu_data[0]"),
    (parse_amd_smi, "GPU: 0\n    POWER:\n        SOCKET_POWER: lots\n", "amd-smi", "line 3.SOCKET_POWER"),
    (parse_amd_smi, "gpu,temperature\n0,40\n", "amd-smi", "row 1"),
])
def test_unknown_output_is_refused_naming_tool_and_field(parser, text, tool, field):
    with pytest.raises(PowerParseError) as e:
        parser(text)
    assert e.value.file == tool and e.value.field == field
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)  # readers treat it as "no reading"


def test_amd_smi_csv_and_fallback_keys():
    # the documented CSV form (constructed: no real CSV sample found), watch mode repeats the header
    text = ("'CTRL' + 'C' to stop watching output:\ngpu,socket_power,gfx_voltage\n0,142,800\n1,N/A,N/A\n"
            "gpu,socket_power,gfx_voltage\n0,150,800\n")
    assert parse_amd_smi(text) == {0: 150.0, 1: None}
    # MI300 reports current_socket_power, MI200 average_socket_power (ROCm/pytorch PR #1457)
    text = ('[{"gpu": 0, "power": {"current_socket_power": 717, "average_socket_power": "N/A"}},'
            ' {"gpu": 1, "power": {"socket_power": "N/A", "average_socket_power": 94}}]')
    assert parse_amd_smi(text) == {0: 717.0, 1: 94.0}
    assert parse_amd_smi('[{"gpu": 0, "power": {"socket_power": "350 W"}}]') == {0: 350.0}


def test_rocm_device_prefers_amd_smi_then_rocm_smi(monkeypatch):
    from calibration.power import amdsmi

    tools = {"amd-smi", "rocm-smi"}
    monkeypatch.setattr(power.shutil, "which", lambda name: name if name in tools else None)
    out = {"text": sample("amdsmi_metric_gpu_data_rx7800xt.json")}
    monkeypatch.setattr(amdsmi, "run_tool", lambda argv: out["text"])
    assert find_reader("rocm").source == "amd-smi"
    out["text"] = sample("amdsmi_metric_watch_na.json")  # amd-smi reads N/A: rocm-smi may do better
    assert find_reader("rocm").source == "rocm-smi"
    tools.discard("rocm-smi")
    assert find_reader("rocm").source == "amd-smi"  # nothing better to fall back to
    tools.clear(); tools.add("rocm-smi")
    assert find_reader("rocm").source == "rocm-smi"


def test_amd_smi_reader_reads_its_gpu(monkeypatch):
    from calibration.power import amdsmi

    monkeypatch.setattr(amdsmi, "run_tool", lambda argv: sample("amdsmi_metric_gpu_data_rx7800xt.json"))
    s = amdsmi.AmdSmiReader(0).read()
    assert s.power_w == 9.0 and s.source == "amd-smi"
    assert amdsmi.AmdSmiReader(1).read() is None  # no such GPU
    monkeypatch.setattr(amdsmi, "run_tool", lambda argv: sample("amdsmi_metric_watch_na.json"))
    assert amdsmi.AmdSmiReader(0).read() is None  # N/A power is no reading
    monkeypatch.setattr(amdsmi, "run_tool", lambda argv: "Traceback (most recent call last):\n")
    assert amdsmi.AmdSmiReader(0).read() is None


def test_rocm_power_cap_is_never_read_as_power():
    """`rocm-smi -a --json` prints the cap beside the reading; without a reading there is none."""
    import json

    doc = json.loads(sample("rocm_smi_all_json_mi250.json"))
    del doc["card0"]["Average Graphics Package Power (W)"]
    assert parse_rocm_smi_json(json.dumps(doc)) == {"card0": None}  # not the 560 W cap


def test_fpga_reader_uses_xrt_smi_then_xbutil(monkeypatch):
    """xbutil was renamed xrt-smi; XRT 2025.1 ships only xrt-smi."""
    from calibration.power import xrt

    tools = {"xrt-smi"}
    monkeypatch.setattr(power.shutil, "which", lambda name: name if name in tools else None)
    monkeypatch.setattr(xrt.shutil, "which", lambda name: name if name in tools else None)
    assert find_reader("fpga").source == "xrt-smi"
    tools.clear(); tools.add("xbutil")
    assert find_reader("fpga").source == "xbutil"
    seen = []
    monkeypatch.setattr(xrt, "run_tool", lambda argv, timeout_s=5.0: seen.append(argv[0]) or
                        "\n".join(l for l in sample("xbutil_electrical_u55c_xrt217.txt").splitlines()))
    s = xrt.XbutilReader(tool="xrt-smi").read()
    assert s.source == "xrt-smi" and s.power_w == pytest.approx(21.445, abs=0.01) and set(seen) == {"xrt-smi"}


def test_every_parser_on_every_sample_reads_or_refuses():
    """Cross-feeding: a parser given another tool's real output refuses it in one line, never crashes."""
    parsers = (parse_xbutil_text, parse_xbutil_json, parse_rocm_smi_json, parse_rocm_smi_text, parse_amd_smi,
               parse_nvidia_smi_csv)
    own = {"xbutil": (parse_xbutil_text, parse_xbutil_json), "rocm_smi": (parse_rocm_smi_json, parse_rocm_smi_text),
           "amdsmi": (parse_amd_smi,), "nvidia": (parse_nvidia_smi_csv,), "rapl": ()}
    for path in sorted(DATA.iterdir()):
        mine = next(v for k, v in own.items() if path.name.startswith(k))
        for parser in parsers:
            try:
                got = parser(sample(path.name))
            except PowerParseError as e:
                assert "\n" not in str(e) and e.file, (path.name, parser.__name__)
                continue
            assert parser in mine, (path.name, parser.__name__, got)  # read only by its own tool's parser
