"""Bad inputs of the third hardening round (notes/harden3.md).

Each case failed before its fix: the error named the wrong place (the scenario file for a
value a ``--set`` flag gave, ``mapping`` for a datatype), a value was accepted that ran
unbounded or overflowed, or a traceback. Same table form as test_bad_inputs_more.py; every
case runs in-process in well under a second.
"""

from __future__ import annotations

import pytest

from calibration.power._base import parse_float
from test_bad_inputs import CUSTOM
from test_bad_inputs_more import PAIR, TABLE_SCENARIO, _edit, _one_line_exit_2, _table

RUN = ["run", "{d}/s.yaml", "--out", "{d}/o", "--no-plot"]
FP8 = {"name": "f", "system": {"devices": [{"preset": "mi210", "name": "gpu"},
                                           {"preset": "h100-sxm", "name": "g2"}]},
       "workload": {"name": "dsa_decode", "params": {"context_len": 1024, "batch": 1, "num_layers": 2}},
       "mapping": {"policy": "gpu-only", "params": {"gpu": "gpu"}}}
FE = ["fpga", "explore", "study_dsa_vanilla", "--out", "{d}/o"]
XH = "kernel,shape,run,kernel_time_s,h2d_time_s,d2h_time_s,bytes_in,bytes_out,device,xclbin\n"
XR = "dsa_indexer_score,batch=1;num_keys=8192;num_heads=64;head_dim=128,0,0.0002,1e-5,2e-6,100,100,u55c,h.xclbin\n"

# (id, files {name: text}, argv ({d} = the directory), needles)
CASES = [
    # 1. a mapping device named by --set was blamed on the scenario file, field 'mapping'; a
    #    list param (heft's devices) with an unknown name ran without it (exit 0)
    ("set-mapping-device-unknown", {"s.yaml": _edit(PAIR, "name", "p")},
     RUN + ["--set", "mapping.params.fpga=nope"],
     ["--set mapping.params.fpga=nope:", "unknown device 'nope'", "devices: gpu, fpga"]),
    ("set-mapping-device-wrong-kind", {"s.yaml": _edit(PAIR, "name", "p")},
     RUN + ["--set", "mapping.params.fpga=gpu"], ["--set mapping.params.fpga=gpu:", "is a gpu"]),
    ("file-mapping-device-unknown", {"s.yaml": _edit(PAIR, "mapping.params", {"fpga": "nope"})}, RUN,
     ["s.yaml: mapping.params.fpga:", "unknown device 'nope'"]),
    ("heft-devices-unknown", {"s.yaml": _edit(PAIR, "mapping", {"policy": "heft",
                                                                "params": {"devices": ["gpu", "nope"]}})}, RUN,
     ["s.yaml: mapping.params.devices.1:", "unknown device 'nope'"]),
    ("sweep-set-mapping-device", {"s.yaml": _edit(PAIR, "name", "p")},
     ["sweep", "{d}/s.yaml", "--set", "mapping.params.fpga=nope,fpga", "--mappings", "hetero", "--out", "{d}/o"],
     ["--set mapping.params.fpga=nope:", "unknown device 'nope'"]),
    # 2. an unknown dtype was reported under 'mapping' after the graph was built
    ("dtype-unknown", {"s.yaml": _edit(PAIR, "workload.params.dtype", "fp7")}, RUN,
     ["s.yaml: workload.params.dtype:", "unknown dtype 'fp7'", "allowed: bf16, fp16, fp32, int8"]),
    ("set-dtype-unknown", {"s.yaml": _edit(PAIR, "name", "p")}, RUN + ["--set", "dtype=fp7"],
     ["--set dtype=fp7:", "unknown dtype 'fp7'"]),
    ("custom-task-dtype-unknown", {"s.yaml": _edit(CUSTOM, "workload.params.tasks.0.dtype", "fp7")}, RUN,
     ["s.yaml: workload.params.tasks.0.dtype:", "unknown dtype 'fp7'"]),
    ("dtype-missing-on-its-device", {"s.yaml": _edit(FP8, "workload.params.dtype", "fp8")}, RUN,
     ["s.yaml: workload.params.dtype:", "no peak_flop_per_s for dtype 'fp8'"]),
    ("set-dtype-missing-on-its-device", {"s.yaml": _edit(FP8, "name", "f")}, RUN + ["--set", "dtype=fp8"],
     ["--set dtype=fp8:", "no peak_flop_per_s for dtype 'fp8'"]),
    # 3. seconds had no ceiling: launch_overhead_s 1e307 summed to an infinite makespan, and a
    #    table fit of 1e308 s to an infinite energy; result.json said Infinity with exit 0
    ("seconds-above-ceiling", {"s.yaml": _edit(CUSTOM, "system.devices.0.launch_overhead_s", 1e307)}, RUN,
     ["s.yaml: system.devices.0.launch_overhead_s:", "must be <= 3600 s"]),
    ("set-link-setup-above-ceiling", {"s.yaml": _edit(PAIR, "name", "p")},
     RUN + ["--set", "system.links.0.overrides.forward.setup_s=1e9"],
     ["--set system.links.0.overrides.forward.setup_s=1e9:", "must be <= 3600 s"]),
    # a --set key inside a union member (the link model) was blamed on the scenario file
    ("set-link-field-of-other-model", {"s.yaml": _edit(PAIR, "name", "p")},
     RUN + ["--set", "system.links.0.overrides.forward.latency_s=1e-6"],
     ["--set system.links.0.overrides.forward.latency_s=1e-6:", "unknown field"]),
    ("table-fit-overflows", {"s.yaml": TABLE_SCENARIO,
                             "t.json": _table(lambda t: t["kernels"]["topk"]["fit"]["params"].update(t0_s=1e308))},
     RUN, ["s.yaml: system.devices:", "energy_j is inf", "too large"]),
    # 4. fpga explore: the grid had no cap; a key given twice kept the last; 0 ports divided by
    #    zero (traceback) and -1 ports priced a design (exit 0)
    ("fpga-grid-over-cap", {}, FE + ["--set", "hbm_ports=" + ",".join(map(str, range(1, 3001))),
                                     "--set", "elem_type=fp32,int8"],
     ["the grid has 24,000 design points", "cap of 20,000", "--set hbm_ports=1,2,3"]),
    ("fpga-set-twice", {}, FE + ["--set", "hbm_ports=1,2", "--set", "hbm_ports=4"],
     ["--set hbm_ports=4:", "given twice"]),
    ("fpga-shape-twice", {}, FE + ["--shape", "batch=1", "--shape", "batch=2"], ["--shape batch=2:", "given twice"]),
    ("fpga-value-twice", {}, FE + ["--set", "hbm_ports=2,2"], ["--set hbm_ports=2,2:", "values given twice: 2"]),
    ("fpga-ports-zero", {}, FE + ["--set", "hbm_ports=0"], ["--set hbm_ports=0", "integer >= 1, got 0"]),
    ("fpga-lanes-negative", {}, FE + ["--set", "lanes=-1"], ["--set lanes=-1", "integer >= 1, got -1"]),
    # adversarial pass: an integer of more than 4300 digits was a ValueError traceback (YAML
    # file, JSON table, --set value, fpga --set); an empty scenario argument was reported as
    # the directory '.'; int_parsing_size said "Unable to parse input string"
    ("yaml-int-5000-digits", {"s.yaml": _edit(CUSTOM, "seed", 0).replace("seed: 0", "seed: " + "9" * 5000)}, RUN,
     ["s.yaml: a number is too long to read", "4300 digits"]),
    ("json-table-int-5000-digits", {"s.yaml": TABLE_SCENARIO, "t.json": '{"format": ' + "9" * 5000 + "}"}, RUN,
     ["t.json: a number is too long to read"]),
    ("set-int-5000-digits", {"s.yaml": _edit(CUSTOM, "name", "t")}, RUN + ["--set", "run.max_tasks=" + "9" * 5000],
     ["--set run.max_tasks=999", "must be an integer of at most 4300 digits"]),
    ("fpga-set-int-5000-digits", {}, FE + ["--set", "lanes=1," + "9" * 5000], ["--set lanes=1,999", "5000 digits"]),
    ("scenario-argument-empty", {}, ["run", "", "--out", "{d}/o"], ["scenario: is empty", "built-in scenario"]),
    ("set-int-too-large", {"s.yaml": _edit(PAIR, "name", "p")}, RUN + ["--set", "context_len=1e30"],
     ["--set context_len=1e30: must be an integer of at most 4300 digits"]),
    # measured times had no ceiling either: time_s 1e300 ran to overflow warnings and exit 0
    ("validate-time-above-ceiling", {"m.csv": "device,kernel,shape,time_s\nmi210,topk,batch=1;num_items=256;k=8,1e300\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot"],
     ["m.csv: time_s: line 2: time_s must be <= 3600 s"]),
    ("validate-resolution-above-ceiling",
     {"m.csv": "device,kernel,shape,time_s,resolution_s\nmi210,topk,batch=1;num_items=256;k=8,1e-5,1e300\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot"], ["m.csv: resolution_s:", "0 to 3600 s"]),
    ("xrt-time-above-ceiling", {"x.csv": XH + XR.replace("0.0002", "1e300")},
     ["calibrate", "--from-xrt-csv", "{d}/x.csv", "--out", "{d}/o/u55c.yaml"],
     ["x.csv: row 1.kernel_time_s: must be <= 3600 s"]),
    # a misspelt optional column (power_W, resolution) was ignored like a provenance column:
    # the rows were read without power or timer step, exit 0
    ("validate-column-misspelt", {"m.csv": "device,kernel,shape,time_s,power_W\nmi210,topk,batch=1;num_items=256;k=8,1e-5,300\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot"],
     ["m.csv: header: unknown column 'power_W'; did you mean 'power_w'?"]),
    ("validate-column-resolution", {"m.csv": "device,kernel,shape,time_s,resolution\nmi210,topk,batch=1;num_items=256;k=8,1e-5,1e-6\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot"],
     ["m.csv: header: unknown column 'resolution'; did you mean 'resolution_s'?"]),
    # run/compare --set of one field twice: the last silently won (sweep and reproduce refuse it)
    ("run-set-twice", {"s.yaml": _edit(PAIR, "name", "p")}, RUN + ["--set", "batch=1", "--set", "workload.params.batch=2"],
     ["--set workload.params.batch=2: sets 'workload.params.batch', which --set batch=1 already sets"]),
    ("compare-set-inside-set", {"s.yaml": _edit(PAIR, "name", "p")},
     ["compare", "{d}/s.yaml", "--out", "{d}/o", "--no-plot", "--set", "workload.params={batch: 1}", "--set", "batch=2"],
     ["--set batch=2:", "already sets"]),
    # a shape or edge size of 10**300 was an OverflowError traceback when priced (10**30 ran to
    # 5e22 J); sizes are at most 2**53, what a float holds exactly
    ("custom-shape-1e300", {"s.yaml": _edit(CUSTOM, "workload.params.tasks.0.shape", {"m": 10**300, "n": 10**300, "k": 64})},
     RUN, ["s.yaml: workload.params.tasks:", "shape['m']=1e+300 must be at most 2**53"]),
    ("custom-edge-1e400", {"s.yaml": _edit(CUSTOM, "workload.params.edges.0.bytes", 10**400)}, RUN,
     ["s.yaml: workload.params.tasks:", "bytes must be an integer from 0 to 2**53, got 1e+400"]),
    ("validate-shape-1e26", {"m.csv": "device,kernel,shape,time_s\nmi210,topk,batch=1;num_items=" + "9" * 27 + ";k=8,1e-5\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot"],
     ["m.csv: shape: line 2:", "shape['num_items']=9e+26 must be at most 2**53"]),
    # leave-one-out over a column with one value named neither the file nor the flag
    ("validate-leave-one-out-one-value", {"m.csv": "device,kernel,shape,time_s\nmi210,topk,batch=1;num_items=256;k=8,1e-5\n"},
     ["validate", "--against", "{d}/m.csv", "--out", "{d}/vo", "--no-plot", "--leave-one-out", "device"],
     ["m.csv: device: --leave-one-out device needs at least two values in column 'device', got 'mi210'"]),
    # an empty path or name flag was taken for "not given" (--against '' ran the pipeline
    # validation and blamed --table) or for the current directory
    ("validate-against-empty", {}, ["validate", "--against", "", "--out", "{d}/vo"], ["--against: is empty"]),
    ("sweep-scheduler-empty", {}, ["sweep", "--set", "workload.params.batch=1", "--scheduler", "", "--out", "{d}/o"],
     ["--scheduler: is empty"]),
    ("reproduce-only-empty", {}, ["reproduce", "--only", "", "--out", "{d}/o"], ["--only: is empty"]),
    # devices check named no file on its error line (the problems went to stdout, wrapped)
    ("devices-check-names-first-problem", {"d.yaml": "name: [\n"}, ["devices", "check", "{d}/d.yaml"],
     ["1 problem(s)", "first: ", "d.yaml: invalid YAML"]),
]

@pytest.mark.parametrize("name,files,argv,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)


# 5. a reader's power field in mW was None ("850 mW" lost its W, then "850 m" was no number)
@pytest.mark.parametrize("text, watts", [("850 mW", 0.85), ("12.5mW", 0.0125), ("3 uW", 3e-6),
                                          ("1.5 kW", 1500.0), ("45.2 W", 45.2), ("inf", None),
                                          ("-inf W", None)])
def test_parse_float_reads_power_units(text, watts):
    assert parse_float(text) == pytest.approx(watts) if watts is not None else parse_float(text) is None


def test_broken_stdout_pipe_is_quiet(monkeypatch, capsys):
    """``hetsim workloads --json | head -1`` was a BrokenPipeError traceback."""
    import sys

    from hetsim.cli import main

    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["workloads", "--json"]) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_serial_sweep_keeps_each_finished_point_when_interrupted(tmp_path, monkeypatch, capsys):
    """A serial sweep wrote sweep.jsonl one chunk (up to 32 runs) at a time, so an interrupt
    lost every finished run of the chunk; now each point's runs are written as it finishes,
    and a second call resumes from them."""
    import json

    import yaml

    from hetsim import sweep
    from hetsim.cli import main

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(CUSTOM))
    calls, real = [], sweep._run_one

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(sweep, "_run_one", interrupted)
    argv = ["sweep", str(tmp_path / "s.yaml"), "--set", "seed=" + ",".join(map(str, range(12))),
            "--mappings", "gpu-only", "--no-plot", "--json", "--out", str(tmp_path / "sw")]
    assert main(argv) == 130
    rows = [json.loads(x) for x in (tmp_path / "sw" / "sweep.jsonl").read_text().splitlines()]
    assert [r["point"]["seed"] for r in rows] == [0, 1]
    monkeypatch.setattr(sweep, "_run_one", real)
    capsys.readouterr()
    assert main(argv) == 0
    assert len((tmp_path / "sw" / "sweep.jsonl").read_text().splitlines()) == 12


@pytest.mark.parametrize("text", ["", "12ab", "1e400", "-5", "nan", "\u0663\u0663", "9" * 5000,
                                  "max_energy_range_uj 262143328850"])
def test_rapl_counter_that_is_no_integer_is_a_power_parse_error(text):
    """parse_energy_uj raised int()'s bare ValueError (no file, no field; '-5' and Arabic-Indic
    digits were read as counters); now a PowerParseError (one line, still a ValueError)."""
    from calibration.power._base import PowerParseError
    from calibration.power.rapl import parse_energy_uj

    with pytest.raises(PowerParseError, match="energy_uj: content: expected a non-negative integer"):
        parse_energy_uj(text)
    assert parse_energy_uj(" 11671150\n") == 11671150


def test_named_pipe_without_writer_is_refused_not_waited_on(tmp_path, capsys, monkeypatch):
    """``hetsim run fifo.yaml`` blocked forever in open(); now refused at once. Run in a daemon
    thread so a regression fails the test (after 60 s) instead of hanging the suite."""
    import os
    import threading

    from hetsim.cli import main

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    os.mkfifo(tmp_path / "s.yaml")
    monkeypatch.chdir(tmp_path)
    codes = []
    t = threading.Thread(target=lambda: codes.append(main(["run", "s.yaml", "--out", "o", "--no-plot"])),
                         daemon=True)
    t.start()
    t.join(60)
    assert codes == [2], "hetsim waited on a named pipe without a writer"
    err = capsys.readouterr().err
    assert "s.yaml: is a named pipe (FIFO), expected a regular file" in err, err


SEARCH_CASES = [
    # the mapping search had no ceiling: --max-evaluations 1e9 ran for years (37 ms a simulation)
    ("map-max-evaluations-huge", {}, ["map", "--max-evaluations", "1000000000", "--out", "{d}/o"],
     ["--max-evaluations", "from 1 to 100,000", "got 1,000,000,000"]),
    ("map-exhaustive-limit-huge", {}, ["map", "--exhaustive-limit", "100001", "--out", "{d}/o"],
     ["--exhaustive-limit", "from 1 to 100,000"]),
    # --jobs had no ceiling: a 1,000-point sweep with --jobs 100000 started 1,000 processes
    ("sweep-jobs-huge", {}, ["sweep", "--set", "workload.params.batch=1", "--jobs", "100000", "--out", "{d}/o"],
     ["--jobs", "from 1 to 1,024 worker processes, got 100,000"]),
    ("optimal-params-huge", {"s.yaml": _edit(PAIR, "mapping", {"policy": "optimal",
                                                               "params": {"max_evaluations": 10**9}})}, RUN,
     ["s.yaml: mapping.params.max_evaluations:", "less than or equal to 100000"]),
]


@pytest.mark.parametrize("name,files,argv,needles", SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_search_size_has_a_ceiling(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)
