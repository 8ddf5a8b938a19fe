"""Bad inputs found by the adversarial sweep of every input surface (notes/harden.md).

Each case failed before its fix with a traceback, a wrong exit code, a silent wrong answer
or a hang; now it is exit code 2 and one line naming the file (or flag), the field and what
is allowed. Same table form as test_bad_inputs.py; every case runs in-process in well under
a second (nothing is simulated).
"""

from __future__ import annotations

import copy
import math

import pytest
import yaml

from hetsim.cli import main
from test_bad_inputs import CUSTOM, GPU  # the same small custom scenario

H = "device,kernel,shape,time_s\n"
ROW = "mi210,topk,batch=1;num_items=256;k=8,31.6e-6\n"
VA = ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--json"]

SMALL_DSA = {"name": "s", "system": {"devices": [{"preset": "mi210", "name": "gpu"}]},
             "workload": {"name": "dsa", "params": {"model": "deepseek-v3.2", "context_len": 1024,
                                                    "num_layers": 2}},
             "mapping": {"policy": "gpu-only"}}


def _with(params: dict, base=SMALL_DSA) -> str:
    d = copy.deepcopy(base)
    d["workload"]["params"].update(params)
    return yaml.safe_dump(d)


PAIR = {"name": "p", "system": {"devices": [{"preset": "mi210", "name": "gpu"}, {"preset": "u55c", "name": "fpga"}],
                                "links": [{"preset": "p2p-host-jump", "between": ["gpu", "fpga"], "name": "p2p"}]},
        "workload": {"name": "dsa_decode", "params": {"context_len": 1024, "batch": 1, "num_layers": 2}},
        "mapping": {"policy": "hetero"}}


def _edit(base: dict, path: str, value) -> str:
    d = copy.deepcopy(base)
    cur = d
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    if isinstance(cur, list):
        cur[int(keys[-1])] = value
    else:
        cur[keys[-1]] = value
    return yaml.safe_dump(d)


RUN = ["run", "{d}/s.yaml", "--out", "{d}/o"]

# (id, files {name: text or bytes}, argv ({d} = the directory), needles)
CASES = [
    # scenario fields: an empty engine list was an IndexError traceback; an empty device name, a
    # repeated custom edge (the last one's bytes won), a link with both preset and spec (the spec
    # was ignored) and a name inside a preset's overrides (replaced by the entry's name) were
    # silently accepted; an unknown stack in overrides named no device field
    ("engines-empty", {"s.yaml": _edit(CUSTOM, "system.devices.0.engines", [])}, RUN,
     ["s.yaml: system.devices.0.engines:", "at least 1"]),
    ("device-name-empty", {"s.yaml": _edit(CUSTOM, "system.devices.0.name", "")}, RUN,
     ["s.yaml: system.devices.0.name:", "at least 1 character"]),
    ("custom-edge-twice", {"s.yaml": _edit(CUSTOM, "workload.params.edges", [{"from": "a", "to": "b", "bytes": 1},
                                                                            {"from": "a", "to": "b", "bytes": 2}])},
     RUN, ["s.yaml: workload.params", "'a' -> 'b' is listed twice"]),
    ("link-preset-and-spec", {"s.yaml": _edit(PAIR, "system.links.0.spec", {"name": "x"})}, RUN,
     ["s.yaml: system.links.0:", "not both"]),
    ("override-name", {"s.yaml": _edit(PAIR, "system.devices.0.overrides", {"name": "zz"})}, RUN,
     ["s.yaml: system.devices.0.overrides.name:", "next to 'preset'"]),
    ("override-stack-unknown", {"s.yaml": _edit(PAIR, "system.devices.0.overrides", {"stack": "warp"})}, RUN,
     ["s.yaml: system.devices.0.stack:", "'warp'", "known:"]),
    # a flag given 0, 1 or 'yes' was read as false/true (pydantic's lax booleans)
    ("flag-given-a-number", {"s.yaml": _with({"lm_head": 0})}, RUN,
     ["s.yaml: workload.params.lm_head:", "must be true or false, got the number 0"]),
    ("run-flag-given-text", {"s.yaml": _edit(CUSTOM, "run", {"serialize": "yes"})}, RUN,
     ["s.yaml: run.serialize:", "must be true or false, got text 'yes'"]),
    ("ratio-has-no-unit", {"s.yaml": _edit(CUSTOM, "system.devices.0.efficiency.default.compute", 1.5)}, RUN,
     ["s.yaml: system.devices.0.efficiency.default.compute: must be <= 1, got 1.5"]),
    # --set values that are not YAML on their own were a yaml.ScannerError traceback (sweep, reproduce)
    ("sweep-set-unclosed-list", {}, ["sweep", "--set", "workload.params.batch=[", "--out", "{d}/o"],
     ["--set workload.params.batch=[", "got text '['"]),
    ("sweep-set-unclosed-map", {}, ["sweep", "--set", "workload.params.batch={a", "--out", "{d}/o"],
     ["--set workload.params.batch={a", "integer"]),
    ("reproduce-set-unclosed", {}, ["reproduce", "--only", "dsa", "--set", "workload.params.num_layers=[",
                                    "--no-plot", "--out", "{d}/o"], ["--set workload.params.num_layers=[", "integer"]),
    # a --set path through a scalar named the path but not the flag
    ("run-set-through-scalar", {}, ["run", "--set", "name.x=1", "--out", "{d}/o"],
     ["--set name.x=1", "not a mapping"]),
    # a path given twice kept only its last axis: two rows, both run at the second value
    ("sweep-axis-twice", {}, ["sweep", "--set", "workload.params.num_layers=1,2", "--set", "workload.params.num_layers=3",
                              "--out", "{d}/o"], ["--set workload.params.num_layers:", "overlaps"]),
    ("sweep-axis-inside-axis", {}, ["sweep", "--set", "workload.params={num_layers: 1}", "--set",
                                    "workload.params.batch=1", "--out", "{d}/o"], ["overlaps the axis 'workload.params'"]),
    ("sweep-value-twice", {}, ["sweep", "--set", "workload.params.num_layers=1,1", "--out", "{d}/o"],
     ["--set workload.params.num_layers:", "values given twice: 1"]),
    ("sweep-mapping-twice", {}, ["sweep", "--set", "workload.params.num_layers=1", "--mappings", "gpu-only,gpu-only",
                                 "--out", "{d}/o"], ["--mappings:", "given twice: gpu-only"]),
    ("reproduce-set-twice", {}, ["reproduce", "--only", "dsa", "--set", "workload.params.num_layers=1", "--set",
                                 "workload.params.num_layers=2", "--out", "{d}/o"], ["set twice"]),
    # reproduce ran to the end (exit 0) with an override no scenario took
    ("reproduce-set-invalid-everywhere", {}, ["reproduce", "--only", "dsa", "--set", "workload.params.num_layers=-1",
                                              "--no-plot", "--out", "{d}/o"],
     ["--set workload.params.num_layers=-1", "no scenario takes this override", "greater than or equal to 1"]),
    ("reproduce-set-misspelt", {}, ["reproduce", "--only", "dsa", "--set", "workload.params.num_layer=2",
                                    "--no-plot", "--out", "{d}/o"], ["--set workload.params.num_layer=2", "num_layers"]),
    # --update-readme was checked only after every simulation
    ("reproduce-readme-without-markers", {"r.md": "hello\n"},
     ["reproduce", "--only", "dsa", "--update-readme", "{d}/r.md", "--no-plot", "--out", "{d}/o"],
     ["r.md:", "summary markers"]),
    # an output path that is a file: FileExistsError traceback after the work (reproduce, fpga)
    ("reproduce-out-is-file", {"f.txt": "x"}, ["reproduce", "--only", "dsa", "--out", "{d}/f.txt"],
     ["--out", "not a directory"]),
    ("fpga-out-is-file", {"f.txt": "x"}, ["fpga", "explore", "topk", "--out", "{d}/f.txt"],
     ["--out", "not a directory"]),
    ("validate-against-out-is-file", {"m.csv": H + ROW, "f.txt": "x"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/f.txt"], ["--out", "not a directory"]),
    # an empty --out silently wrote into the working directory
    ("run-out-empty", {}, ["run", "--out", ""], ["--out", "empty"]),
    ("sweep-out-empty", {}, ["sweep", "--set", "workload.params.batch=1", "--out", ""], ["--out", "empty"]),
    # an empty policy or stack around '@' was read as "the scenario's own"
    ("run-mapping-empty", {}, ["run", "--mapping", "", "--out", "{d}/o"], ["--mapping:", "''", "known:"]),
    ("run-mapping-at-only", {}, ["run", "--mapping", "@", "--out", "{d}/o"], ["--mapping:", "POLICY@STACK"]),
    ("compare-stack-empty", {}, ["compare", "--candidate", "hetero@", "--out", "{d}/o"],
     ["--candidate:", "'hetero@'", "POLICY@STACK"]),
    # devices list/show ignored extra names
    ("devices-list-name", {}, ["devices", "list", "mi210"], ["takes no name", "devices show"]),
    ("devices-show-two", {}, ["devices", "show", "mi210", "u55c"], ["one preset name", "'u55c'"]),
    # fpga explore: a negative or unknown --shape was priced as an error row (exit 0), --top -3 accepted,
    # and errors named no flag
    ("fpga-shape-negative", {}, ["fpga", "explore", "topk", "--shape", "k=-5", "--out", "{d}/o"],
     ["--shape k=-5", "positive integer"]),
    ("fpga-shape-unknown", {}, ["fpga", "explore", "topk", "--shape", "warp=5", "--out", "{d}/o"],
     ["--shape warp=5", "no shape key 'warp'", "allowed:", "num_items"]),
    ("fpga-shape-no-value", {}, ["fpga", "explore", "topk", "--shape", "k=", "--out", "{d}/o"],
     ["--shape", "KEY=VALUE"]),
    ("fpga-top-negative", {}, ["fpga", "explore", "topk", "--top", "-3"], ["--top", ">= 1"]),
    ("fpga-set-bad-value", {}, ["fpga", "explore", "topk", "--set", "hbm_ports=abc", "--out", "{d}/o"],
     ["--set hbm_ports=abc", "must be an integer"]),
    ("fpga-device-unknown", {}, ["fpga", "explore", "topk", "--device", "warp", "--out", "{d}/o"],
     ["--device:", "'warp'", "known:"]),
    # validate --against: tracebacks (short row, text power, non-UTF-8), silent acceptance (inf time,
    # extra cells, a repeated column), errors naming no file or line (device, shape, stack, dtype)
    ("va-short-row", {"m.csv": H + "mi210,topk\n"}, VA, ["m.csv: line 2:", "2 cells", "4 columns"]),
    ("va-unclosed-quote", {"m.csv": H + 'mi210,"topk,batch=1,1e-5\n'}, VA, ["m.csv: line 2:", "cells"]),
    ("va-extra-cells", {"m.csv": H + ROW.strip() + ",5,6\n"}, VA, ["m.csv: line 2:", "6 cells"]),
    ("va-time-inf", {"m.csv": H + ROW.replace("31.6e-6", "inf")}, VA, ["m.csv: time_s:", "line 2", "finite"]),
    ("va-power-text", {"m.csv": "device,kernel,shape,time_s,power_w\n" + ROW.strip() + ",abc\n"}, VA,
     ["m.csv: power_w:", "line 2", "not a number"]),
    ("va-power-negative", {"m.csv": "device,kernel,shape,time_s,power_w\n" + ROW.strip() + ",-5\n"}, VA,
     ["m.csv: power_w:", "must be > 0"]),
    ("va-latin1", {"m.csv": (H + "mi210,topk,batch=1;num_items=256;k=8,1e-5\n# caf\xe9\n").encode("latin-1")}, VA,
     ["m.csv:", "UTF-8"]),
    ("va-repeated-column", {"m.csv": "device,device,kernel,shape,time_s\nmi210,u55c,topk,batch=1;num_items=256;k=8,1e-5\n"},
     VA, ["m.csv: header:", "repeated columns ['device']"]),
    ("va-unknown-device", {"m.csv": H + ROW.replace("mi210", "warp")}, VA,
     ["m.csv: device: line 2:", "'warp'", "known:"]),
    ("va-shape-unknown-key", {"m.csv": H + ROW.replace("k=8", "k=8;warp=3")}, VA,
     ["m.csv: shape: line 2:", "'warp'", "allowed"]),
    ("va-shape-unicode-digit", {"m.csv": H + ROW.replace("k=8", "k=\u00b2")}, VA, ["m.csv: shape: line 2:", "key=integer"]),
    ("va-unknown-stack", {"m.csv": "device,kernel,shape,time_s,stack\n" + ROW.strip() + ",warp\n"}, VA,
     ["m.csv: stack: line 2:", "'warp'", "known:"]),
    ("va-unknown-dtype", {"m.csv": "device,kernel,shape,time_s,dtype\n" + ROW.strip() + ",warp\n"}, VA,
     ["m.csv: line 2:", "dtype 'warp'", "known:"]),
    ("va-stack-flag", {"m.csv": H + ROW}, VA + ["--stack", "warp"], ["--stack:", "'warp'"]),
    # board power in milliwatts written as watts (300,000 W on a 300 W MI210) was averaged in, exit 0
    ("va-power-mw-as-w", {"m.csv": "device,kernel,shape,time_s,power_w\n" + ROW.strip() + ",300000\n"}, VA,
     ["m.csv: power_w: line 2:", "over 10x", "mi210", "milliwatts"]),
    # validate's two modes: a flag of the other mode was silently ignored
    ("validate-against-with-device", {"m.csv": H + ROW}, VA + ["--device", "cuda"],
     ["--device:", "not to --against"]),
    ("validate-rounds-without-against", {}, ["validate", "--detach-tables"], ["--detach-tables:", "only with --against"]),
    ("validate-broken-table", {"t.json": "{not json"}, ["validate", "--table", "{d}/t.json", "--out", "{d}/vo"],
     ["t.json:", "invalid JSON"]),
    # sizing walked every layer / listed every step before answering: a hang, now refused at once
    ("layers-1e20", {"s.yaml": _with({"num_layers": 10**20})}, ["run", "{d}/s.yaml", "--out", "{d}/o"],
     ["s.yaml: workload.params:", "at most 100,000", "num_layers"]),
    ("steps-1e20", {"s.yaml": _with({"steps": 10**20})}, ["run", "{d}/s.yaml", "--out", "{d}/o"],
     ["s.yaml: workload.params:", "at most 100,000 decode steps"]),
    ("prefill-chunks-1e20", {"s.yaml": _with({"phase": "prefill", "context_len": 10**20, "prefill_chunk": 1})},
     ["run", "{d}/s.yaml", "--out", "{d}/o"], ["s.yaml: workload.params:", "prefill chunks", "prefill_chunk"]),
]


def _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles):
    """Write *files* under tmp_path, run *argv* there: exit 2, one error line holding *needles*."""
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    monkeypatch.chdir(tmp_path)
    code = main([a.replace("{d}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("hetsim: error: "), err
    for n in needles:
        assert n in err, (n, err)


@pytest.mark.parametrize("name,files,argv,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)


def test_dask_scheduler_address_that_is_no_address(tmp_path, capsys):
    """dask's ValueError for an address without a port was a traceback."""
    pytest.importorskip("dask.distributed")
    code = main(["sweep", "--set", "workload.params.num_layers=1", "--scheduler", "nonsense",
                 "--out", str(tmp_path / "o"), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "--scheduler: 'nonsense' is not a dask scheduler address" in err, err


def test_validate_against_header_with_spaces_and_bom_is_read(tmp_path, capsys):
    """A header written 'device, kernel' or saved with a BOM is the same header."""
    p = tmp_path / "m.csv"
    p.write_text("\ufeffdevice, kernel, shape, time_s\n" + ROW, encoding="utf-8")
    assert main(["validate", "--against", str(p), "--out", str(tmp_path / "o"), "--json", "--no-plot"]) == 0, \
        capsys.readouterr().err


XH = "kernel,shape,run,kernel_time_s,h2d_time_s,d2h_time_s,bytes_in,bytes_out,device,xclbin\n"
XR = "dsa_indexer_score,batch=1;num_keys=8192;num_heads=64;head_dim=128,0,0.0002,1e-5,2e-6,100,100,u55c,h.xclbin\n"
XC = ["calibrate", "--from-xrt-csv", "{d}/x.csv", "--out", "{d}/o/u55c.yaml"]
HC = ["calibrate", "--from-hls-report", "{d}/r.xml", "--kernel", "indexer_score", "--out", "{d}/o/u55c.yaml"]


def _report(tag: str, value: str) -> str:
    import re
    from pathlib import Path

    text = (Path(__file__).parent / "hls" / "data" / "csynth_streamhls_u55c.xml").read_text()
    out = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1)
    assert out != text
    return out


# ingest (calibrate --from-hls-report / --from-xrt-csv): nan, inf and 1e400 in a report were a
# ValueError/OverflowError traceback or a nan clock; a negative resource was accepted; a device
# file of the wrong shape was an AttributeError; XRT times of nan/inf/0 reached the fitter
INGEST = [
    ("hls-latency-nan", {"r.xml": _report("Best-caseLatency", "nan")}, HC, ["r.xml: /profile/", "Best-caseLatency", "non-negative integer"]),
    ("hls-ii-inf", {"r.xml": _report("PipelineII", "inf")}, HC, ["r.xml: /profile/", "PipelineII", "non-negative integer"]),
    ("hls-lut-1e400", {"r.xml": _report("LUT", "1e400")}, HC, ["r.xml: /profile/AreaEstimates/Resources/LUT:", "non-negative"]),
    ("hls-lut-negative", {"r.xml": _report("LUT", "-5")}, HC, ["r.xml: /profile/AreaEstimates/Resources/LUT:", "non-negative"]),
    ("hls-clock-nan", {"r.xml": _report("TargetClockPeriod", "nan")}, HC, ["r.xml: /profile/UserAssignments/TargetClockPeriod:", "finite"]),
    ("hls-device-file-kernels-not-mapping", {"r.xml": _report("LUT", "5"), "g.yaml": "name: g\nkind: fpga\nfpga: {kernels: 5}\n"},
     HC + ["--device-file", "{d}/g.yaml"], ["g.yaml:"]),
    ("xrt-time-nan", {"x.csv": XH + XR.replace("0.0002", "nan")}, XC, ["x.csv: row 1.kernel_time_s:", "finite"]),
    ("xrt-time-zero", {"x.csv": XH + XR.replace("0.0002", "0")}, XC, ["x.csv: row 1.kernel_time_s:", "> 0"]),
    ("xrt-h2d-inf", {"x.csv": XH + XR.replace("1e-5", "inf")}, XC, ["x.csv: row 1.h2d_time_s:", "finite"]),
    ("xrt-shape-negative", {"x.csv": XH + XR.replace("batch=1", "batch=-1")}, XC, ["x.csv: row 1.shape:", ">= 0"]),
    ("xrt-shape-twice", {"x.csv": XH + XR.replace("batch=1;", "batch=1;batch=2;")}, XC, ["x.csv: row 1.shape:", "twice"]),
    # calibrate's two modes: --kernel without a file to ingest started a full kernel timing
    ("calibrate-kernel-alone", {}, ["calibrate", "--kernel", "topk"], ["--kernel:", "only with --from-hls-report"]),
    ("ingest-with-quick", {"x.csv": XH + XR}, XC + ["--quick"], ["--quick:", "not to --from-hls-report"]),
    ("ingest-out-is-dir", {"x.csv": XH + XR}, ["calibrate", "--from-xrt-csv", "{d}/x.csv", "--out", "{d}"],
     ["--out:", "is a directory"]),
    # an output file that exists as a directory failed after the work
    ("run-result-is-dir", {"o/result.json/x": ""}, ["run", "--out", "{d}/o"], ["--out:", "result.json", "is a directory"]),
    ("sweep-jsonl-is-dir", {"o/sweep.jsonl/x": ""}, ["sweep", "--set", "workload.params.batch=1", "--out", "{d}/o"],
     ["--out:", "sweep.jsonl", "is a directory"]),
]


@pytest.mark.parametrize("name,files,argv,needles", INGEST, ids=[c[0] for c in INGEST])
def test_bad_ingest_and_output_paths(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)


def _sweep(tmp_path, capsys):
    code = main(["sweep", "--set", "workload.params.num_layers=1,2", "--mappings", "gpu-only", "--no-plot",
                 "--json", "--out", str(tmp_path / "sw")])
    cap = capsys.readouterr()
    import json

    return code, cap.err, json.loads(cap.out) if code == 0 else None


@pytest.mark.parametrize("damage", ["garbled-number", "missing-field", "nan", "not-utf8", "deep-json", "huge-int"])
def test_sweep_resume_recomputes_damaged_rows(tmp_path, capsys, damage):
    """A damaged sweep.jsonl line whose fingerprint still matches was reused (a garbled number
    reached sweep.csv and the plot: TypeError) or stopped the resume (UnicodeDecodeError,
    RecursionError, ValueError): now it is skipped, said so, and its run recomputed."""
    import json

    code, _, first = _sweep(tmp_path, capsys)
    assert code == 0
    f = tmp_path / "sw" / "sweep.jsonl"
    lines = f.read_bytes().splitlines()
    row = json.loads(lines[0])
    bad = {"garbled-number": json.dumps({**row, "makespan_s": "12x"}).encode(),
           "missing-field": json.dumps({k: row[k] for k in ("point", "mapping", "fingerprint")}).encode(),
           "nan": json.dumps({**row, "energy_j": float("nan")}).encode(),
           "not-utf8": b"\xe9" + lines[0],
           "deep-json": b"[" * 100_000,
           "huge-int": b"1" * 5000}[damage]
    f.write_bytes(b"\n".join([bad] + lines[1:]) + b"\n")
    code, err, again = _sweep(tmp_path, capsys)
    assert code == 0, err
    assert "ignoring 1 unreadable line(s)" in err, err
    assert again == first  # recomputed, same answer (deterministic)
    assert all(json.loads(x) for x in f.read_bytes().splitlines())  # compacted: only good rows remain


def _table(mutate) -> str:
    import json

    fit = {"model": "roofline", "kernel": "topk", "params": {"t0_s": 1e-5, "flop_per_s": 1e10, "bytes_per_s": 1e10}}
    t = {"format": "hetsim-kernel-table/1", "device": {"name": "g"}, "provenance": {},
         "kernels": {"topk": {"fit": fit, "points": []}}}
    mutate(t)
    return json.dumps(t)


TABLE_SCENARIO = _edit(CUSTOM, "system.devices.0.cost_tables", ["t.json"])

# a cost table named by a scenario: only its top level was checked, so a malformed fit surfaced
# while pricing (KeyError traceback) and a negative rate priced tasks at 0 s (a silent wrong answer)
TABLES = [
    ("unknown-kernel", lambda t: t["kernels"].update(warp={}), ["t.json: kernels.warp:", "unknown kernel"]),
    ("fit-not-mapping", lambda t: t["kernels"]["topk"].update(fit=3), ["t.json: kernels.topk.fit:", "mapping"]),
    ("unknown-model", lambda t: t["kernels"]["topk"]["fit"].update(model="warp"),
     ["t.json: kernels.topk.fit.model:", "allowed: roofline"]),
    ("nan-param", lambda t: t["kernels"]["topk"]["fit"]["params"].update(t0_s=float("nan")),
     ["t.json: kernels.topk.fit.params:", "finite"]),
    ("negative-rate", lambda t: t["kernels"]["topk"]["fit"]["params"].update(bytes_per_s=-1),
     ["t.json: kernels.topk.fit.params.bytes_per_s:", "> 0"]),
    ("missing-param", lambda t: t["kernels"]["topk"]["fit"]["params"].pop("t0_s"),
     ["t.json: kernels.topk.fit:", "cannot price", "t0_s"]),
    ("bad-range", lambda t: t["kernels"]["topk"]["fit"].update(range={"flop": [1]}),
     ["t.json: kernels.topk.fit.range:", "[low, high]"]),
]


@pytest.mark.parametrize("name,mutate,needles", TABLES, ids=[c[0] for c in TABLES])
def test_bad_cost_table(tmp_path, capsys, name, mutate, needles):
    (tmp_path / "s.yaml").write_text(TABLE_SCENARIO)
    (tmp_path / "t.json").write_text(_table(mutate))
    code = main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o"), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, (n, err)


def test_the_valid_cost_table_runs(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(TABLE_SCENARIO)
    (tmp_path / "t.json").write_text(_table(lambda t: None))
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o"), "--no-plot"]) == 0, \
        capsys.readouterr().err


@pytest.mark.parametrize("rel,edit,needles", [
    # a user's model preset: 'abc' was a ValueError traceback, -5 was blamed on the scenario
    ("models/llama-3.1-8b.yaml", ("hidden_size:", "hidden_size: abc\nold_hidden_size:"),
     ["llama-3.1-8b.yaml: hidden_size:", "integer >= 1", "'abc'"]),
    ("models/llama-3.1-8b.yaml", ("hidden_size:", "hidden_size: -5\nold_hidden_size:"),
     ["llama-3.1-8b.yaml: hidden_size:", "integer >= 1, got -5"]),
    # a broken link preset was blamed on the scenario's (absent) overrides
    ("links/p2p-host-jump.yaml", None, ["p2p-host-jump.yaml: forward:", "got the number 5"]),
])
def test_broken_user_presets_name_their_file(tmp_path, capsys, monkeypatch, rel, edit, needles):
    import shutil
    from pathlib import Path

    from hetsim import catalog

    root = tmp_path / "dm"
    root.mkdir()
    src = Path(catalog.load_preset("devices", "mi210").path).parent.parent
    target = root / rel
    target.parent.mkdir(parents=True)
    text = (src / rel).read_text()
    target.write_text(text.replace(*edit, 1) if edit else "forward: 5\n")
    monkeypatch.setenv("HETSIM_DEVICE_MODELS", str(root))
    scenario = "quest" if rel.startswith("models") else "default"
    code = main(["run", scenario, "--set", "num_layers=1", "--out", str(tmp_path / "o"), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"hetsim: error: {target}: "), err
    for n in needles:
        assert n in err, (n, err)
    shutil.rmtree(root)


def test_cost_table_rate_none_is_an_absent_term(tmp_path):
    """calibrate writes ``flop_per_s: null`` for a kernel without flop (roofline/product fits):
    the reader takes it as no compute term, so validate reads its own fresh tables."""
    from hetsim.costs.tables import read_table

    (tmp_path / "t.json").write_text(_table(lambda t: t["kernels"]["topk"]["fit"]["params"].update(flop_per_s=None)))
    s, _ = read_table(tmp_path / "t.json").predict("topk", {"batch": 1, "num_items": 1000, "k": 4})
    assert s > 1e-5


# --- notes/harden2.md: the leftovers of the first sweep ---------------------------------------

SWEEP_GPU = ["sweep", "{d}/s.yaml", "--set", "workload.params.num_layers=1,2", "--out", "{d}/o", "--no-plot"]


def _lib(name: str, **params) -> str:
    """A one-GPU scenario of library workload *name* (2 layers) with *params*."""
    return _with(params, {**SMALL_DSA, "workload": {"name": name, "params": {"num_layers": 2}}})


LEFTOVERS = [
    # a policy that needs an FPGA on a GPU-only system: every run failed, exit 3, after the work
    ("sweep-mapping-without-its-device", {"s.yaml": _with({})}, SWEEP_GPU + ["--mappings", "hetero,gpu-only"],
     ["--mappings: 'hetero' cannot be placed at any point", "s.yaml: the system has no fpga device",
      "policies that can run here: gpu-only"]),
    ("sweep-mapping-unknown-device-param", {"s.yaml": _edit(yaml.safe_load(_with({})), "mapping.params", {"gpu": "g9"})},
     SWEEP_GPU + ["--mappings", "gpu-only"], ["s.yaml: mapping.params.gpu: unknown device 'g9'; devices: gpu"]),
    # absurd but valid sizes ran to absurd answers (1.6e34 s): the KV cache at the longest
    # context (retrieved documents, MemAgent's memory) is now part of the size guard
    ("rag-doc-tokens-1e20", {"s.yaml": _lib("rag", doc_tokens=10**20)}, RUN,
     ["s.yaml: workload.params:", "'kv_cache' needs", "more than the largest device memory ('gpu'"]),
    ("rag-reretrieve-top-k-1e20", {"s.yaml": _lib("rag", reretrieve_every=1, reretrieve_top_k=10**20, steps=4)}, RUN,
     ["s.yaml: workload.params:", "'kv_cache' needs", "largest device memory"]),
    ("memagent-memory-tokens-1e20", {"s.yaml": _lib("memagent", memory_tokens=10**20)}, RUN,
     ["s.yaml: workload.params:", "'kv_cache' needs", "largest device memory"]),
    ("engram-max-ngram-1e20", {"s.yaml": _lib("engram", max_ngram=10**20)}, RUN,
     ["s.yaml: workload.params:", "max_ngram", "cannot be longer than the 32,769 tokens"]),
    # hmt / lact read a prompt in their own chunks: a small one listed millions of them (a hang)
    ("hmt-prefill-segments-5e6", {"s.yaml": _lib("hmt", phase="prefill", segment_len=2, context_len=10**7)}, RUN,
     ["s.yaml: workload.params:", "context_len / segment_len = 5,000,000 prefill chunks", "raise segment_len"]),
    ("lact-prefill-chunks-1e7", {"s.yaml": _lib("lact", phase="prefill", ttt_chunk=1, context_len=10**7)}, RUN,
     ["s.yaml: workload.params:", "context_len / ttt_chunk", "raise ttt_chunk"]),
    # a negative Engram layer matched no layer (no Engram at all); an empty list meant layer 0
    ("engram-layer-negative", {"s.yaml": _lib("engram", engram_layers=[-5])}, RUN,
     ["s.yaml: workload.params.engram_layers.0:", "greater than or equal to 0"]),
    ("engram-layers-empty", {"s.yaml": _lib("engram", engram_layers=[])}, RUN,
     ["s.yaml: workload.params.engram_layers:", "at least 1"]),
    ("engram-layer-twice", {"s.yaml": _lib("engram", engram_layers=[1, 1])}, RUN,
     ["s.yaml: workload.params:", "engram_layers lists layer(s) [1] more than once"]),
]


# the second sweep's finds (notes/harden2.md): tracebacks on odd paths and kernel names
LEFTOVERS += [
    ("out-name-too-long", {}, ["run", "--out", "x" * 5000], ["--out: directory 'xxx", "5,000 characters", "too long"]),
    ("out-nul-byte", {}, ["run", "--out", "a\0b"], ["--out: directory 'a\\x00b' contains a NUL byte"]),
    ("scenario-name-too-long", {}, ["run", "y" * 5000, "--out", "{d}/o"], ["scenario 'yyy", "too long"]),
    ("table-nul-byte", {}, ["validate", "--against", "m\0.csv", "--out", "{d}/o"], ["NUL byte"]),
    # a rate just above zero passed "> 0" and overflowed (OverflowError) or divided by an
    # underflowed zero (ZeroDivisionError) while pricing: rates are >= 1 unit/s, fractions >= 1e-6
    ("bandwidth-1e-300", {"s.yaml": _edit(PAIR, "system.devices.0.overrides", {"memory": {"achievable_bandwidth_Bps": 1e-300}})},
     RUN, ["s.yaml: system.devices.0.overrides.memory.achievable_bandwidth_Bps:", "must be >= 1 B/s, got 1e-300"]),
    ("flop-rate-1e-300", {"s.yaml": _edit(PAIR, "system.devices.0.overrides", {"peak_flop_per_s": {"bf16": 1e-300}})},
     RUN, ["s.yaml: system.devices.0.overrides.peak_flop_per_s.bf16:", "must be >= 1 FLOP/s"]),
    ("efficiency-1e-300", {"s.yaml": _edit(PAIR, "system.devices.0.overrides", {"efficiency": {"topk": {"compute": 1e-300, "memory": 0.5}}})},
     RUN, ["s.yaml: system.devices.0.overrides.efficiency.topk.compute:", "must be >= 1e-06"]),
    # a table without the pipelines' kernels failed after the progress bar, naming no file
    ("validate-table-without-kernels", {"t.json": '{"format": "hetsim-kernel-table/1", "device": {"name": "cpu"}, '
                                                 '"provenance": {}, "kernels": {}}'},
     ["validate", "--table", "{d}/t.json", "--rounds", "1", "--out", "{d}/vo"],
     ["t.json: kernels: no fit for", "gemm", "calibrate them first"]),
    # a knob with no effect and an error: only the error line (warnings print on success only)
    ("warning-and-error-is-one-line", {"s.yaml": _lib("rag", embed_dim=512, context_len=256)}, RUN + ["--mapping", "warp"],
     ["--mapping:", "'warp'", "known:"]),
    ("calibrate-unknown-kernel", {}, ["calibrate", "--kernels", "warp", "topk", "--quick", "--out", "{d}/t.json"],
     ["--kernels: no calibration grid for kernel(s) 'warp'", "known:", "topk"]),
]


@pytest.mark.parametrize("name,files,argv,needles", LEFTOVERS, ids=[c[0] for c in LEFTOVERS])
def test_leftovers_of_the_first_sweep(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)


def test_a_mapping_placeable_at_some_points_still_runs_there(tmp_path, capsys):
    """Only a policy that fits no point is refused: an axis over the system keeps per-point failures."""
    import json

    (tmp_path / "s.yaml").write_text(_edit(PAIR, "workload.params.num_layers", 1))
    code = main(["sweep", str(tmp_path / "s.yaml"), "--set", "system.devices.1.preset=u55c,mi210",
                 "--mappings", "hetero", "--out", str(tmp_path / "o"), "--no-plot", "--json"])
    cap = capsys.readouterr()
    assert code == 3, cap.err
    rows = json.loads(cap.out)
    assert ["error" in r for r in rows] == [False, True], rows
    assert "no fpga device" in rows[1]["error"]


# a knob set to no effect in its configuration: one warning line naming file (or flag) and
# field, once per invocation even when a sweep checks many points; the run goes on
UNUSED = [
    ("mla-head-dim", "dsa", {"head_dim": 64, "num_kv_heads": 4}, [], ["s.yaml: workload.params.head_dim:",
                                                                     "s.yaml: workload.params.num_kv_heads:"],
     "used only on GQA models (here 'deepseek-v3.2' uses MLA)"),
    ("bm25-embed-dim", "rag", {"retriever": "bm25", "embed_dim": 512, "context_len": 256}, [],
     ["s.yaml: workload.params.embed_dim:"], "used only with retriever: dense (here retriever: bm25)"),
    ("index-chunks-without-build", "rag", {"index_chunks": 4, "context_len": 256}, [],
     ["s.yaml: workload.params.index_chunks:"], "used only with index_build: true (here index_build: false)"),
    ("prefill-chunk-in-decode", "full_attention", {"prefill_chunk": 512, "context_len": 256}, [],
     ["s.yaml: workload.params.prefill_chunk:"], "used only with phase: prefill (here phase: decode)"),
    ("threshold-keep-with-budget", "seer_attention_r", {"threshold_keep": 0.5, "context_len": 256}, [],
     ["s.yaml: workload.params.threshold_keep:"], "used only with select: threshold"),
    ("prefill-chunk-in-hmt", "hmt", {"phase": "prefill", "prefill_chunk": 512, "context_len": 2048}, [],
     ["s.yaml: workload.params.prefill_chunk:"], "not read: hmt reads its prompt in segments of segment_len"),
    ("set-names-the-flag", "dsa", {}, ["--set", "head_dim=64"], ["--set head_dim=64:"], "used only on GQA models"),
]


@pytest.mark.parametrize("name,workload,params,extra,fields,why", UNUSED, ids=[c[0] for c in UNUSED])
def test_a_knob_with_no_effect_is_warned_once(tmp_path, capsys, name, workload, params, extra, fields, why):
    (tmp_path / "s.yaml").write_text(_lib(workload, **params))
    code = main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o"), "--no-plot", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0, err
    assert len(err) == len(fields), err
    for line, field in zip(sorted(err), sorted(fields)):
        assert line.startswith(f"hetsim: warning: {tmp_path / 's.yaml'}: " if field.startswith("s.yaml")
                               else "hetsim: warning: " + field), line
        assert field.split(": ", 1)[-1] in line and why in line, line


def test_a_sweep_warns_once_for_all_its_points(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(_lib("rag", embed_dim=512, context_len=256))
    code = main(["sweep", str(tmp_path / "s.yaml"), "--set", "workload.params.retriever=bm25,dense",
                 "--set", "workload.params.top_k=4,8", "--mappings", "gpu-only", "--out", str(tmp_path / "o"),
                 "--no-plot", "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0, err
    assert [line for line in err if "warning" in line] == [
        f"hetsim: warning: {tmp_path / 's.yaml'}: workload.params.embed_dim: has no effect here: used only "
        "with retriever: dense (here retriever: bm25)"], err


def test_knobs_in_effect_and_defaults_are_not_warned(tmp_path, capsys):
    """Dense retrieval uses embed_dim; a GQA model uses head_dim; defaults are never warned."""
    for workload, params in (("rag", {"retriever": "dense", "embed_dim": 512, "context_len": 256}),
                             ("full_attention", {"model": "llama-3.2-1b", "head_dim": 64, "context_len": 256})):
        (tmp_path / "s.yaml").write_text(_lib(workload, **params))
        assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o"), "--no-plot"]) == 0
        assert capsys.readouterr().err == ""


def test_top_k_cycle_model_is_bounded_for_huge_item_counts():
    """``expected_serial_beats`` allocated arrays of num_items floats (1e13 items: a 73 TiB
    MemoryError; 1e9: 8 GB per array) from ``fpga explore --shape`` or a topk task on an FPGA.
    Beyond 4M items it sums the small tail in closed form: within 1e-4 of the exact sum."""
    import time

    from hetsim.fpga_kernels import _common as C

    t = time.process_time()
    huge = C.expected_serial_beats(10**23, 2048, 16, "random")
    assert math.isfinite(huge) and time.process_time() - t < 30
    n, k = 6_000_000, 64
    approx = C.expected_serial_beats(n, k, 16, "random")
    import numpy as np

    i = np.arange(16 * C.ceil_div(k, 16), n, dtype=np.float64)
    beat = (i // 16).astype(np.int64) - C.ceil_div(k, 16)
    exact = C.ceil_div(k, 16) + float(np.sum(1 - np.exp(np.bincount(beat, weights=np.log1p(-k / (i + 1))))))
    assert abs(approx - exact) / exact < 1e-4, (approx, exact)


def test_sweep_resume_with_a_foreign_header_and_a_torn_last_line(tmp_path, capsys):
    """Good rows are kept and the notice says which lines were skipped (a CSV header pasted
    on top, the last row cut mid-line by an interrupted write)."""
    code, _, first = _sweep(tmp_path, capsys)
    assert code == 0
    f = tmp_path / "sw" / "sweep.jsonl"
    data = f.read_bytes()
    f.write_bytes(b"point,mapping,makespan_s\n" + data[:-40])
    code, err, again = _sweep(tmp_path, capsys)
    assert code == 0 and again == first, err
    assert "ignoring 2 unreadable line(s)" in err and "(lines 1, 3: damaged or not a sweep row); " \
        "1 good row(s) kept" in err, err


@pytest.mark.parametrize("old,new,needles", [
    # a stack entry for a kernel no task has, or a shape key the kernel lacks, was ignored silently
    ("  indexer_score:\n", "  warp_kernel:\n", ["tuned.yaml: kernels:", "unknown kernel 'warp_kernel'", "allowed:"]),
    ("shape: {intermediate: 0}", "shape: {warp: 0}", ["tuned.yaml: kernels:", "'warp' is not a shape key of indexer_score"]),
    # a negative variant key was blamed on the scenario's mapping
    ("shape: {intermediate: 0}", "shape: {intermediate: -5}", ["tuned.yaml: kernels:", "intermediate: must be an integer >= 0"]),
    # a preset nested thousands deep overflowed the merge with its overrides (RecursionError)
    ("name: tuned", "name: tuned\nx: " + "[" * 2000 + "]" * 2000, ["tuned.yaml: nested more than 64 levels"]),
])
def test_broken_user_stack_names_its_file(tmp_path, capsys, monkeypatch, old, new, needles):
    from pathlib import Path

    from hetsim.costs.stacks import load_stack

    load_stack("tuned")  # the shipped stack was read first in this process: not reused for the user's
    src = Path(__file__).parent.parent / "device_models" / "stacks" / "tuned.yaml"
    target = tmp_path / "dm" / "stacks" / "tuned.yaml"
    target.parent.mkdir(parents=True)
    text = src.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    monkeypatch.setenv("HETSIM_DEVICE_MODELS", str(tmp_path / "dm"))
    code = main(["run", "--mapping", "gpu-only@tuned", "--set", "num_layers=1", "--out", str(tmp_path / "o"),
                 "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"hetsim: error: {target}: "), err
    for n in needles:
        assert n in err, (n, err)


def test_deep_nesting_in_a_scenario_is_refused_at_the_boundary(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(_with({}) + "seed: " + "[" * 2000 + "]" * 2000 + "\n")
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "s.yaml: nested more than 64 levels deep" in capsys.readouterr().err


def test_default_mappings_leave_out_a_policy_the_system_cannot_place(tmp_path, capsys):
    """Without --mappings a GPU-only scenario sweeps gpu-only and says hetero was left out
    (an explicit --mappings hetero is refused instead: sweep-mapping-without-its-device)."""
    (tmp_path / "s.yaml").write_text(_with({}))
    argv = [a.format(d=tmp_path) for a in SWEEP_GPU]
    assert main(argv) == 0
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == ["hetsim: sweep: hetero left out of the default --mappings "
                                "(gpu-only,hetero): it cannot be placed at any point; running gpu-only"], err
    rows = (tmp_path / "o" / "sweep.csv").read_text().splitlines()[1:]
    assert len(rows) == 2 and all(",gpu-only," in r for r in rows), rows
