"""Bad inputs found by helper bad11's hunt (notes/bad11.md): each case failed before its fix
with a traceback or a silent wrong answer (an infinite error in validate.json); now it is exit
code 2 and one line naming the file (or flag), the field and what is allowed. Same table form
as test_bad_inputs_more.py; nothing is simulated.
"""

from __future__ import annotations

import pytest

from test_bad_inputs import CUSTOM, DSA
from test_bad_inputs_more import RUN, VA, _edit, _one_line_exit_2

PH = "device,kernel,shape,time_s,power_w\n"
GH = "device,kernel,shape,time_s,group\n"
SHAPES = [(1, 4096, 4096), (16, 4096, 4096), (256, 1024, 4096), (4096, 4096, 4096), (65536, 16, 256),
          (1, 65536, 256), (16, 16, 65536), (256, 256, 256), (4096, 1, 16), (1, 1, 1)]


def _gemm_rows(groups: str, times) -> str:
    """mi210 bf16 GEMM rows, every shape of SHAPES in each group, times cycling through *times*."""
    return GH + "".join(f"mi210,gemm,m={m};n={n};k={k},{times[i % len(times)]},{g}\n"
                        for g in groups for i, (m, n, k) in enumerate(SHAPES))

ROW = "mi210,topk,batch=1;num_items=256;k=8,31.6e-6"

# (id, files {name: text or bytes}, argv ({d} = the directory), needles)
CASES = [
    # power_w 0 was accepted: the power error |pred - 0| / 0 came out as Infinity in validate.json
    # --leave-one-out refitted the tiles on whatever rows were left: two rows for nine parameters,
    # or times no tile model fits, ended in pydantic's ValidationError (a tile efficiency rounded
    # to 0) or math's OverflowError, tracebacks
    ("va-lomo-too-few-rows", {"m.csv": GH + "mi210,gemm,m=32;k=5120;n=5120,7.75e-05,A\n"
                                            "mi210,gemm,m=8;k=5120;n=7168,9.1e-05,A\n"
                                            "mi210,gemm,m=16;k=8192;n=8192,0.0002413,B\n"},
     VA + ["--leave-one-out", "group"],
     ["m.csv: group: --leave-one-out group:", "mi210", "without group='A'", "1 other bf16 gemm row:",
      "9 parameters"]),
    ("va-lomo-fit-out-of-range", {"m.csv": _gemm_rows("AB", (3000.0,))}, VA + ["--leave-one-out", "group"],
     ["m.csv: group: --leave-one-out group:", "mi210", "10 other bf16 gemm rows", "do not fit one tile model"]),
    # a top-k of more items than it selects from (k=64 of 4) was priced as if it were possible
    ("custom-topk-k-over-items", {"s.yaml": _edit(CUSTOM, "workload.params.tasks.1.shape",
                                                  {"batch": 1, "num_items": 4, "k": 64})}, RUN,
     ["s.yaml: workload.params.tasks:", "kernel 'topk'", "shape['k']=64 must be at most shape['num_items']=4"]),
    # a bad shape or unknown kernel in a custom graph named the kernel but not the task (of many)
    ("custom-shape-names-the-task", {"s.yaml": _edit(CUSTOM, "workload.params.tasks.0.shape", {"m": 1})}, RUN,
     ["s.yaml: workload.params.tasks: task 'a': kernel 'gemm': shape is missing ['n', 'k']"]),
    ("custom-kernel-names-the-task", {"s.yaml": _edit(CUSTOM, "workload.params.tasks.1.kernel", "warp")}, RUN,
     ["s.yaml: workload.params.tasks: task 'b': unknown kernel 'warp'"]),
    ("va-fused-topk-k-over-items", {"m.csv": "device,kernel,shape,time_s\n"
                                             "u55c,inner_product_topk,batch=1;num_items=8;dim=64;k=16,1e-5\n"}, VA,
     ["m.csv: shape: line 2:", "kernel 'inner_product_topk'", "shape['k']=16 must be at most shape['num_items']=8"]),
    # fpga explore --shape had no upper bound and no k <= items check: k=1e20, or a top-5 of
    # one item, was priced (exit 0) as if it were possible
    ("fpga-shape-above-bound", {}, ["fpga", "explore", "topk", "--shape", "k=99999999999999999999", "--out", "{d}/o"],
     ["--shape k=99999999999999999999:", "at most 2**53"]),
    ("fpga-shape-k-over-items", {}, ["fpga", "explore", "topk", "--shape", "num_items=1", "--shape", "k=5",
                                     "--out", "{d}/o"],
     ["--shape k=5 --shape num_items=1:", "k=5 must be at most num_items=1"]),
    ("fpga-shape-items-under-example-k", {}, ["fpga", "explore", "inner_product_topk", "--shape", "num_items=10",
                                              "--out", "{d}/o"],
     ["--shape num_items=10:", "k=64 must be at most num_items=10", "k from the example shape", "--shape k=N"]),
    # an error of the simulation in a field no flag set, of a scenario a flag changed, named only
    # the scenario file: the file alone runs, so the message pointed at the wrong place
    ("run-set-removes-the-route", {}, ["run", "--set", "system.links=[]", "--out", "{d}/o", "--no-plot"],
     ["default.yaml: mapping: no link route from 'gpu' to 'fpga'",
      "(in the scenario as changed by --set system.links=[])"]),
    ("compare-set-removes-the-peaks", {}, ["compare", "--set", "system.devices.0.overrides={peak_flop_per_s: null}",
                                           "--out", "{d}/o", "--no-plot"],
     ["default.yaml: --baseline: device 'gpu' has no peak_flop_per_s", "(in the scenario as changed by --set "
      "system.devices.0.overrides={peak_flop_per_s: null})"]),
    # YAML 1.1 read 1:30 as the base-60 number 90 (a range or ratio written in a file or a flag
    # became 90 layers), in scenario files and --set values alike
    ("yaml-sexagesimal", {"s.yaml": _edit(CUSTOM, "seed", 1) .replace("seed: 1", "seed: 1:30")}, RUN,
     ["s.yaml: seed:", "got text '1:30'"]),
    ("set-sexagesimal", {}, ["run", "--set", "workload.params.num_layers=1:3", "--out", "{d}/o", "--no-plot"],
     ["--set workload.params.num_layers=1:3:", "got text '1:3'"]),
    # YAML 1.1 read yes/no/on/off as booleans: 'serialize: yes' passed as true
    ("yaml-yes-is-not-a-flag", {"s.yaml": _edit(CUSTOM, "run", {"serialize": "SENTINEL"}).replace("SENTINEL", "yes")},
     RUN, ["s.yaml: run.serialize:", "must be true or false, got text 'yes'"]),
    # run.free_transfers naming no resident data (a typo) freed nothing, silently, exit 0
    ("free-transfers-unknown-data", {}, ["run", "--set", "workload.params.num_layers=2", "--set",
                                         "run.free_transfers=[index_cach]", "--out", "{d}/o", "--no-plot"],
     ["--set run.free_transfers=[index_cach]:", "'index_cach' is no resident data", "index_cache",
      "'producer->consumer'"]),
    ("va-power-zero", {"m.csv": PH + ROW + ",0\n"}, VA, ["m.csv: power_w: line 2:", "must be > 0", "empty"]),
]


@pytest.mark.parametrize("name,files,argv,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)


def test_leave_one_out_fits_the_tiles_on_their_own_datatype_only():
    """The refit prices every training row at the tiles' datatype (bf16 peak, 2-byte elements):
    an fp32 row among the training rows was fitted as if it were bf16. Its time must not move
    the held-out group's predictions (it did: the fit used every gemm row of the device)."""
    from hetsim.report.validation import Measurement, leave_one_out

    def rows(fp32_s: float):
        out = [Measurement("mi210", "gemm", {"m": m, "n": n, "k": k},
                           4e-6 + max((m * k + k * n) * 2 / 1.2e12, 2 * m * n * k / 160e12), group=g)
               for g in "AB" for (m, n, k) in SHAPES if m * n * k > 1]
        out.append(Measurement("mi210", "gemm", {"m": 4096, "n": 4096, "k": 4096}, fp32_s,
                               group="A", dtype="fp32"))
        return out

    p0, _, _ = leave_one_out(rows(3e-3), "group")
    p1, _, _ = leave_one_out(rows(3e-1), "group")
    held_b = [i for i, r in enumerate(rows(1.0)) if r.group == "B"]
    assert all(p0[i] == p1[i] for i in held_b)


def test_unattributed_idle_energy_is_never_a_rounding_negative(tmp_path, capsys):
    """A device busy the whole run leaves no idle energy unattributed to a step; the
    difference of the two sums came out as -2.2e-16 J in result.json (Quest, gpu-only, one
    layer at 256 tokens, and many other small runs)."""
    import json

    from hetsim.cli import main

    code = main(["run", "quest", "--set", "workload.params.num_layers=1", "--set",
                 "workload.params.context_len=256", "--mapping", "gpu-only", "--no-plot", "--json",
                 "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["energy_breakdown"]["unattributed_idle_j"] >= 0.0


@pytest.mark.parametrize("text,value", [("017", 17), ("0x10", 16), ("12", 12), ("1_000", 1000), ("1e3", 1000.0),
                                        ("-3", -3)])
def test_numbers_read_as_written_in_base_10(text, value):
    """YAML 1.1 read a leading zero as octal: context_len: 017 was 15 (017 is 17 in YAML 1.2 and
    to anyone reading the file). The scenario reader and --set values agree."""
    from hetsim.inputs import flag_value, parse_yaml

    assert parse_yaml(f"a: {text}", "f.yaml")["a"] == value
    assert flag_value(text) == value


def test_fast_forward_on_is_read_as_written(tmp_path, capsys):
    """run.fast_forward takes auto, on or off, but YAML 1.1 read an unquoted on or off as a
    boolean, so the documented values were refused ("must be 'auto', 'on' or 'off', got a
    boolean (true)") unless quoted, in files and --set alike."""
    import yaml

    from hetsim.cli import main

    doc = yaml.safe_load(_edit(DSA, "run", {"fast_forward": "auto"}))
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc).replace("fast_forward: auto", "fast_forward: on"))
    assert main(["run", str(p), "--out", str(tmp_path / "o"), "--no-plot", "--json"]) == 0, capsys.readouterr().err
    assert main(["run", str(p), "--set", "run.fast_forward=off", "--out", str(tmp_path / "o"), "--no-plot",
                 "--json"]) == 0, capsys.readouterr().err


def test_free_transfers_family_name_covers_its_shards():
    """moe with expert_shards: 2 holds expert_weights.0 and .1; the study scenarios' rule
    free_transfers: [expert_weights] names that family and is accepted (it matched no item
    before, and still frees no edge there: no Prepare Memory task updates the experts)."""
    from hetsim.mapping.transfers import names_data

    assert names_data("expert_weights", "expert_weights.1")
    assert names_data("kv_cache", "kv_cache")
    assert not names_data("expert", "expert_weights.1")
    assert not names_data("index_cach", "index_cache")


def test_compare_with_zero_power_devices_prints_no_ratio(tmp_path, capsys):
    """Devices with zero power (allowed: idle_w and active_w >= 0) give runs of 0 J, and
    metrics.compare gives energy_reduction None; compare's table and picture formatted it
    with :.3f, a TypeError traceback. Zero-work tasks on a device without launch overhead
    give a 0 s run and a speed-up of None the same way."""
    import copy

    import yaml

    from hetsim.cli import main

    doc = copy.deepcopy(CUSTOM)
    doc["system"]["devices"][0]["power"] = {"idle_w": 0, "active_w": 0}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    code = main(["compare", str(tmp_path / "s.yaml"), "--baseline", "gpu-only", "--candidate", "single",
                 "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    assert "energy reduction n/a (the candidate run uses 0 J)" in " ".join(out.split())
    assert (tmp_path / "o" / "compare.png").exists()
