"""Fuzzing the table readers: measurement CSVs, XRT timing CSVs, Vitis HLS reports and the
optional regime fields of a calibrated kernel table.

Each generated file is either read or refused with a HetsimError that names the file;
any other exception (a traceback for the user) fails the test. Cells are drawn from valid
values and the values that broke these readers before (nan, inf, 1e400, negative and
unicode digits, short and long rows, repeated columns, BOM, CRLF, a semicolon separator,
truncation, stray bytes). Modest example counts keep the file to a few seconds in CI;
HETSIM_FUZZ_THOROUGH=1 (or ``pytest --thorough``) multiplies them by five.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzkit import SCALE
from hetsim.costs.tables import read_table
from hetsim.errors import HetsimError
from hetsim.ingest.hls_report import parse_csynth
from hetsim.ingest.xrt_csv import XRT_CSV_COLUMNS, parse_xrt_csv
from hetsim.report.validation import read_measurements

FUZZ = dict(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            deadline=None, database=None)

JUNK = ["", " ", "nan", "NaN", "inf", "-inf", "1e400", "-1", "0", "-0", "1e-400", "abc", "1,5", "\u00b2",
        "\u0663", '"', '""', "'", ";", "=", "k=", "=5", "batch=1;batch=2", "a" * 50, "1_000", "0x10", "\t"]
VALID = {"device": ["mi210", "a100-sxm-80gb", "u55c", "warp"],
         "kernel": ["topk", "gemm", "warp"],
         "shape": ["batch=1;num_items=256;k=8", "m=1;n=64;k=64", "batch=1", "batch=-1;num_items=2;k=1"],
         "time_s": ["31.6e-6", "1e-3", "2"], "power_w": ["", "300", "1e3"],
         "group": ["", "g1"], "label": ["", "l"], "stack": ["", "tuned", "pytorch-eager"],
         "dtype": ["", "bf16", "fp32"]}
MEAS_COLUMNS = list(VALID) + ["zzz"]


def _cell(col: str):
    return st.one_of(st.sampled_from(VALID.get(col, ["x"])), st.sampled_from(JUNK),
                     st.text(max_size=8))


@st.composite
def _table_text(draw, columns: list[str], cell) -> bytes:
    header = draw(st.lists(st.sampled_from(columns), min_size=0, max_size=len(columns) + 1))
    if draw(st.booleans()):
        header = list(dict.fromkeys(header))  # mostly each column once
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        n = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        rows.append([draw(cell(header[i] if i < len(header) else "")) for i in range(max(0, n))])
    text = "\n".join(",".join(r) for r in [header] + rows) + "\n"
    op = draw(st.sampled_from(["none", "none", "bom", "crlf", "semicolon", "truncate", "bytes", "latin1"]))
    if op == "bom":
        return ("\ufeff" + text).encode()
    if op == "crlf":
        text = text.replace("\n", "\r\n")
    elif op == "semicolon":
        text = text.replace(",", ";")
    elif op == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif op == "bytes":
        return text.encode("utf-8", "surrogatepass")[: draw(st.integers(0, len(text)))] + draw(st.binary(max_size=8))
    elif op == "latin1":
        return (text + "caf\u00e9\n").encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass")


def _refused_or_read(reader, path: Path):
    """The reader's answer, or None when it refused the file with a one-line error naming it."""
    try:
        return reader(path)
    except HetsimError as e:
        assert str(e).startswith(str(path)), str(e)  # the file is named first
        assert "\n" not in str(e).strip(), str(e)
        return None


def _finite(x, low: float, strict: bool = False) -> bool:
    return math.isfinite(x) and (x > low if strict else x >= low)


@settings(max_examples=100 * SCALE, **FUZZ)
@given(data=_table_text(MEAS_COLUMNS, _cell))
def test_measurement_csv_fuzz(tmp_path, data):
    p = tmp_path / "m.csv"
    p.write_bytes(data)
    for r in _refused_or_read(read_measurements, p) or ():  # what is read is usable
        assert _finite(r.time_s, 0, strict=True) and (r.power_w is None or _finite(r.power_w, 0)), r
        assert all(isinstance(v, int) and v >= 0 for v in r.shape.values()), r


XRT_VALID = {"kernel": ["dsa_indexer_score", "topk", ""], "shape": ["batch=1;num_keys=8192;num_heads=64;head_dim=128",
                                                                   "batch=1;num_items=4096;k=64", "batch=-1"],
             "run": ["0", "1", "-1"], "kernel_time_s": ["0.0002", "0", "1e-5"], "h2d_time_s": ["1e-5"],
             "d2h_time_s": ["2e-6"], "bytes_in": ["100", "1e3"], "bytes_out": ["100"], "device": ["u55c"],
             "xclbin": ["h.xclbin"]}


def _xrt_cell(col: str):
    return st.one_of(st.sampled_from(XRT_VALID.get(col, ["x"])), st.sampled_from(JUNK))


@st.composite
def _xrt_text(draw) -> bytes:
    if draw(st.integers(0, 3)):  # mostly the exact header the host program writes
        header = list(XRT_CSV_COLUMNS)
        rows = [[draw(_xrt_cell(c)) for c in header] for _ in range(draw(st.integers(0, 4)))]
        if rows and draw(st.booleans()):
            rows[-1] = rows[-1][: draw(st.integers(0, len(header)))]
        return ("\n".join(",".join(r) for r in [header] + rows) + "\n").encode()
    return draw(_table_text(list(XRT_CSV_COLUMNS), _xrt_cell))


@settings(max_examples=100 * SCALE, **FUZZ)
@given(data=_xrt_text())
def test_xrt_csv_fuzz(tmp_path, data):
    p = tmp_path / "x.csv"
    p.write_bytes(data)
    for r in _refused_or_read(parse_xrt_csv, p) or ():
        assert _finite(r.kernel_time_s, 0, strict=True), r
        assert _finite(r.h2d_time_s, 0) and _finite(r.d2h_time_s, 0) and r.bytes_in >= 0 and r.run >= 0, r
        assert all(v >= 0 for v in r.shape.values()), r


REPORTS = sorted((Path(__file__).parent / "hls" / "data").glob("csynth_*.xml"))
ELEMENT = re.compile(r"<([A-Za-z_][\w.-]*)>([^<]*)</\1>")


@st.composite
def _report_text(draw) -> bytes:
    text = draw(st.sampled_from(REPORTS)).read_text()
    for _ in range(draw(st.integers(1, 3))):
        spots = list(ELEMENT.finditer(text))
        m = draw(st.sampled_from(spots))
        op = draw(st.sampled_from(["value", "value", "value", "delete", "truncate", "range"]))
        if op == "value":
            value = draw(st.one_of(st.sampled_from(JUNK + ["undef", "1 ~ 2", "3 ~", "~", "1e30"]), st.text(max_size=6)))
            value = value.replace("<", "").replace("&", "")
            text = text[: m.start(2)] + value + text[m.end(2):]
        elif op == "delete":
            text = text[: m.start()] + text[m.end():]
        elif op == "range":
            text = text[: m.start(2)] + "<range><min>5</min><max>" + draw(st.sampled_from(JUNK)).replace("<", "") \
                + "</max></range>" + text[m.end(2):]
        else:
            return text[: draw(st.integers(0, len(text)))].encode()
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.skipif(not REPORTS, reason="no sample reports")
@settings(max_examples=100 * SCALE, **FUZZ)
@given(data=_report_text())
def test_hls_report_fuzz(tmp_path, data):
    p = tmp_path / "csynth.xml"
    p.write_bytes(data)
    rep = _refused_or_read(parse_csynth, p)
    if rep is not None:
        assert _finite(rep.target_clock_period_s, 0, strict=True), rep.target_clock_period_s
        assert all(isinstance(v, int) and v >= 0 for v in rep.resources.values()), rep.resources


@functools.lru_cache(maxsize=1)
def _split_gemm_fit() -> dict:
    """A gemm fit split by regime (a GEMV law for m = 1, a GEMM law above), made once."""
    from hetsim.costs.fitted import fit_kernel
    from hetsim.kernels import KERNELS

    pts = []
    for k, n in ((1024, 1024), (1024, 3072), (7168, 576), (1536, 8192), (16384, 512), (2816, 1024)):
        for m in (1, 2, 64):
            f, b = KERNELS["gemm"].work({"m": m, "n": n, "k": k})
            t = 5e-6 + b / 8e9 if m == 1 else 2e-5 + 2 * k * n / 3e9 + f / 8.5e10
            pts.append({"shape": {"m": m, "n": n, "k": k}, "median_s": t})
    fit = fit_kernel(pts, "gemm", models=["linear", "roofline"])
    assert "regimes" in fit
    return fit


REGIME_PATHS = [("regimes",), ("regimes", "gemv"), ("regimes", "gemm", "model"), ("regimes", "gemv", "params"),
                ("regimes", "gemm", "params", "t0_s"), ("regimes", "gemv", "params", "s_per_byte"),
                ("regimes", "gemm", "range"), ("regimes", "gemv", "range", "flop"),
                ("regimes", "gemm", "range", "shape", "m"), ("regime_points",), ("regime_points", "gemv")]
REGIME_JUNK = [None, -1, 0, 2, 1.5, 1e308, "x", "linear", "product", True, [], [1], [0, 1], {}, {"gemx": 1},
               {"gemv": 1}, {"model": "linear"}, float("nan"), float("inf")]


@settings(max_examples=100 * SCALE, **FUZZ)
@given(edits=st.lists(st.tuples(st.sampled_from(REGIME_PATHS), st.one_of(st.sampled_from(REGIME_JUNK),
                                                                         st.just("<delete>"))),
                      min_size=1, max_size=3))
def test_regime_fields_fuzz(tmp_path, edits):
    fit = copy.deepcopy(_split_gemm_fit())
    for path, value in edits:
        node = fit
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if value == "<delete>":
                node.pop(path[-1], None)
            else:
                node[path[-1]] = copy.deepcopy(value)
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"format": "hetsim-kernel-table/1", "device": {"name": "x"}, "provenance": {},
                             "kernels": {"gemm": {"points": [], "fit": fit}}}))
    table = _refused_or_read(read_table, p)
    if table is None:
        return
    for shape in ({"m": 1, "n": 2048, "k": 2048}, {"m": 8, "n": 2048, "k": 2048}, {"m": 1, "n": 1024, "k": 1024}):
        try:
            seconds, extrapolated = table.predict("gemm", shape)
        except HetsimError as e:
            assert str(e).startswith(str(p)) and "\n" not in str(e).strip(), str(e)
            continue
        assert _finite(seconds, 0) and isinstance(extrapolated, bool), (seconds, extrapolated)


def _context_table_and_graph():
    """A gemm table with valid per-context factors for every task of a three-GEMM chain (byte
    windows and whole prefixes alike), and the chain."""
    from calibration.contexts import _order_tasks, _resolved, prefix, windows
    from hetsim.workloads.registry import build_workload

    shapes = [{"m": 1, "k": 64, "n": 64}, {"m": 1, "k": 1024, "n": 512}, {"m": 1, "k": 512, "n": 64}]
    graph = build_workload("custom", {
        "tasks": [{"name": f"t{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(shapes)],
        "edges": [{"from": "t0", "to": "t1", "bytes": 0}, {"from": "t1", "to": "t2", "bytes": 0}]})
    tasks = _order_tasks(graph)
    entries = []
    for i, win in windows(graph, 1 << 20).items():
        for w, first in (win, prefix(i)):
            k, s = _resolved(tasks[i])
            entries.append({"context": [dict(zip(("kernel", "shape"), _resolved(tasks[j]))) for j in w],
                            "consumer": {"kernel": k, "shape": s}, "evict_first": first, "factor": 1.1})
    table = {"format": "hetsim-kernel-table/1", "device": {"name": "x"},
             "provenance": {"cold": {"evict_bytes": 1 << 20}},
             "kernels": {"gemm": {"points": [], "fit": _split_gemm_fit()}}, "contexts": entries}
    return table, graph


CONTEXT_PATHS = [("contexts",), ("contexts", 0), ("contexts", 0, "factor"), ("contexts", 1, "context"),
                 ("contexts", 1, "context", 0), ("contexts", 2, "context", 0, "shape"),
                 ("contexts", 0, "context", 0, "kernel"), ("contexts", 3, "consumer"),
                 ("contexts", 2, "consumer", "shape"), ("contexts", 1, "consumer", "kernel"),
                 ("provenance", "cold"), ("provenance", "cold", "evict_bytes"),
                 ("provenance", "memory_state"), ("provenance", "memory_state", "rotate_bytes")]


@settings(max_examples=100 * SCALE, **FUZZ)
@given(edits=st.lists(st.tuples(st.sampled_from(CONTEXT_PATHS), st.one_of(st.sampled_from(REGIME_JUNK),
                                                                          st.just("<delete>"))),
                      min_size=1, max_size=3))
def test_context_fields_fuzz(tmp_path, edits):
    """Per-context factors (``contexts``) and the evictor bytes they go with: read and used by
    validate's lookup and the validation pipeline's simulation, or refused with one line."""
    from calibration.contexts import context_extra_s, table_rotate_bytes, task_factors

    table, graph = _context_table_and_graph()
    table = copy.deepcopy(table)
    for path, value in edits:
        node = table
        for key in path[:-1]:
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
            else:
                node = None
        last = path[-1]
        if isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int) and last < len(node)):
            if value == "<delete>":
                node.pop(last) if isinstance(node, list) else node.pop(last, None)
            else:
                node[last] = copy.deepcopy(value)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(table))
    loaded = _refused_or_read(read_table, p)
    if loaded is None:
        return
    factors = task_factors(graph, loaded.data, table_rotate_bytes(loaded.data) or (1 << 20))
    assert all(f > 0 and math.isfinite(f) for _, _, f in factors.values())
    try:
        extra = context_extra_s(graph, loaded)
    except HetsimError as e:
        assert str(e).startswith(str(p)) and "\n" not in str(e).strip(), str(e)
        return
    assert math.isfinite(extra)
