"""Every bad input of issue 9 gets exit code 2 and one line naming the file (or flag) and field.

Table-driven: each case builds its input in a temporary directory, runs the CLI in-process
and checks the one line for the place (file or flag) and the words that say what is wrong.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from hetsim.cli import main

GPU = {"name": "g", "kind": "gpu",
       "memory": {"capacity_bytes": "80 GB", "peak_bandwidth_Bps": "2 TB/s",
                  "achievable_bandwidth_Bps": "1.7 TB/s"},
       "peak_flop_per_s": {"bf16": "312 TFLOP/s"},
       "efficiency": {"default": {"compute": 0.8, "memory": 0.9}},
       "power": {"idle_w": 50, "active_w": 300}}

CUSTOM = {"name": "t", "system": {"devices": [GPU]},
          "workload": {"name": "custom", "params": {
              "tasks": [{"name": "a", "step": "model", "kernel": "gemm", "shape": {"m": 1, "n": 64, "k": 64}},
                        {"name": "b", "step": "retrieval", "kernel": "topk",
                         "shape": {"batch": 1, "num_items": 4096, "k": 64}}],
              "edges": [{"from": "a", "to": "b", "bytes": 64}]}},
          "mapping": {"policy": "gpu-only"}}

DSA = {"name": "d", "system": {"devices": [{"preset": "mi210", "name": "gpu"}]},
       "workload": {"name": "dsa_decode", "params": {"context_len": 1024, "batch": 1, "num_layers": 2}},
       "mapping": {"policy": "gpu-only"}}


def _doc(base, *edits):
    d = copy.deepcopy(base)
    for path, value in edits:
        cur = d
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        if value is _DELETE:
            del cur[keys[-1]]
        elif isinstance(cur, list):
            cur[int(keys[-1])] = value
        else:
            cur[keys[-1]] = value
    return yaml.safe_dump(d)


_DELETE = object()

SOURCE_LESS = """name: bad
kind: gpu
sources: {S1: 'a datasheet'}
memory:
  capacity_bytes: {value: 1.0e9, source: "S1"}
  peak_bandwidth_Bps: {value: 1.0e12, source: "%s"}
  achievable_bandwidth_Bps: {value: 1.0e12, source: "S1"}
power: {idle_w: {value: 1, source: S1}, active_w: {value: 2, source: S1}}
"""

# (id, files {name: text or bytes}, argv (with {d} for the directory), env, needles)
CASES = [
    ("binary-scenario", {"s.yaml": b"\x00\x01\x02\x7fELF"}, ["run", "{d}/s.yaml"], {},
     ["s.yaml:", "binary"]),
    ("non-utf8-scenario", {"s.yaml": b"name: caf\xe9\n"}, ["run", "{d}/s.yaml"], {},
     ["s.yaml:", "UTF-8"]),
    ("devices-check-binary", {"dev.yaml": b"\x89PNG\r\n\x1a\n\x00\x00"}, ["devices", "check", "{d}/dev.yaml"], {},
     ["problem"]),
    ("out-under-proc", {"s.yaml": _doc(CUSTOM)}, ["run", "{d}/s.yaml", "--out", "/proc/hetsim-out"], {},
     ["--out", "/proc/hetsim-out"]),
    ("out-is-a-file", {"s.yaml": _doc(CUSTOM), "f.txt": "x"}, ["run", "{d}/s.yaml", "--out", "{d}/f.txt"], {},
     ["--out", "not a directory"]),
    ("batch-true", {"s.yaml": _doc(DSA, ("workload.params.batch", True))}, ["run", "{d}/s.yaml"], {},
     ["s.yaml: workload.params.batch:", "boolean"]),
    ("seed-true", {"s.yaml": _doc(CUSTOM, ("seed", True))}, ["run", "{d}/s.yaml"], {},
     ["s.yaml: seed:", "boolean"]),
    ("shape-bool", {"s.yaml": _doc(CUSTOM, ("workload.params.tasks.0.shape.m", False))}, ["run", "{d}/s.yaml"], {},
     ["s.yaml: workload.params.tasks.0.shape.m:", "boolean"]),
    ("duplicate-key", {"s.yaml": "name: a\nname: b\n"}, ["run", "{d}/s.yaml"], {},
     ["s.yaml:", "duplicate key 'name'", "line 2"]),
    ("context-1e12", {"s.yaml": _doc(DSA).replace("context_len: 1024", "context_len: 1e12")},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: workload.params:", "no mapping can place it"]),
    ("mapping-param-unknown", {"s.yaml": _doc(CUSTOM, ("mapping", {"policy": "gpu-only", "params": {"gpuu": "g"}}))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: mapping.params.gpuu:", "did you mean 'gpu'"]),
    ("optimal-param-unknown", {"s.yaml": _doc(CUSTOM, ("mapping", {"policy": "optimal", "params": {"objectiv": "edp"}}))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: mapping.params.objectiv:", "objective"]),
    ("mapping-param-type", {"s.yaml": _doc(CUSTOM, ("mapping", {"policy": "gpu-only", "params": {"gpu": 3}}))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: mapping.params.gpu:", "string"]),
    ("sweep-jobs-0", {}, ["sweep", "--jobs", "0", "--set", "workload.params.batch=1"], {}, ["--jobs", "from 1 to"]),
    ("sweep-jobs-neg", {}, ["sweep", "--jobs", "-3", "--set", "workload.params.batch=1"], {}, ["--jobs", "from 1 to"]),
    ("map-top-0", {}, ["map", "--top", "0"], {}, ["--top", ">= 1"]),
    ("map-top-neg", {}, ["map", "--top", "-1"], {}, ["--top", ">= 1"]),
    ("map-max-eval-0", {}, ["map", "--max-evaluations", "0"], {}, ["--max-evaluations", "from 1 to"]),
    ("map-top-text", {}, ["map", "--top", "many"], {}, ["--top", "integer"]),
    ("device-models-missing", {}, ["run"], {"HETSIM_DEVICE_MODELS": "{d}/nope"},
     ["HETSIM_DEVICE_MODELS:", "not a directory"]),
    # data that fits no device after a --set elsewhere (a smaller preset) was blamed on the scenario
    ("capacity-after-set-says-which-flags", {}, ["run", "--set", "system.devices.0.preset=u55c"], {},
     ["--set system.devices.0.preset=u55c: workload.params:", "needs", "(the scenario fits without these flags)"]),
    # the devices/ folder itself instead of the folder that holds it: shadowed nothing, silently
    ("device-models-holds-no-presets", {"dm/devices/x.txt": "x"}, ["run"], {"HETSIM_DEVICE_MODELS": "{d}/dm/devices"},
     ["HETSIM_DEVICE_MODELS:", "holds none of devices/, links/, models/, stacks/"]),
    ("source-id-undefined-S", {"bad.yaml": SOURCE_LESS % "S9"}, ["devices", "check", "{d}/bad.yaml"], {}, ["problem"]),
    ("set-names-flag", {}, ["sweep", "--set", "workload.params.batch=true"], {},
     ["--set workload.params.batch", "boolean"]),
    ("set-typo-names-flag", {}, ["sweep", "--set", "workload.params.contxt_len=5"], {},
     ["--set workload.params.contxt_len=5", "did you mean 'context_len'"]),
    ("mappings-names-flag", {}, ["sweep", "--set", "workload.params.batch=1", "--mappings", "gpu-only,warp"], {},
     ["--mappings:", "'warp'"]),
    ("mapping-flag", {}, ["run", "--mapping", "warp"], {}, ["--mapping:", "'warp'", "known:"]),
    ("baseline-flag", {}, ["compare", "--baseline", "warp"], {}, ["--baseline:", "'warp'"]),
    ("cycle-names-file", {"s.yaml": _doc(CUSTOM, ("workload.params.edges", [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: workload.params", "cycle"]),
    ("unknown-kernel-names-file", {"s.yaml": _doc(CUSTOM, ("workload.params.tasks.0.kernel", "warp_drive"))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: workload.params", "unknown kernel 'warp_drive'"]),
    ("memory-does-not-fit-names-file",
     {"s.yaml": _doc(CUSTOM, ("system.devices", [GPU, {**GPU, "name": "g2"}]),
                     ("workload.params.data", {"x": 50 * 10**9, "y": 50 * 10**9}),
                     ("workload.params.tasks.0.data", ["x", "y"]))},
     ["run", "{d}/s.yaml"], {}, ["s.yaml: mapping:", "memory holds 80 GB"]),
    ("unknown-policy-names-file", {"s.yaml": _doc(CUSTOM, ("mapping.policy", "warp"))}, ["run", "{d}/s.yaml"], {},
     ["s.yaml: mapping.policy:", "'warp'"]),
    ("top-level-typo", {"s.yaml": _doc(CUSTOM).replace("workload:", "workloads:")}, ["run", "{d}/s.yaml"], {},
     ["s.yaml: workloads:", "did you mean 'workload'"]),
    ("scenario-is-directory", {"sub/x.txt": "x"}, ["run", "{d}/sub"], {}, ["sub:", "directory"]),
    ("table-binary", {"t.json": b"\x00\x00", "s.yaml": _doc(CUSTOM, ("system.devices.0.cost_tables", ["t.json"]))},
     ["run", "{d}/s.yaml"], {}, ["t.json:", "binary"]),
    ("hls-report-binary", {"r.xml": b"\x00PK"}, ["calibrate", "--from-hls-report", "{d}/r.xml"], {},
     ["r.xml:", "binary"]),
    ("xrt-csv-latin1", {"r.csv": b"kernel,\xe9\n"}, ["calibrate", "--from-xrt-csv", "{d}/r.csv"], {},
     ["r.csv:", "UTF-8"]),
]


@pytest.mark.parametrize("name,files,argv,env,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, files, argv, env, needles):
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    for k, v in env.items():
        monkeypatch.setenv(k, v.format(d=tmp_path))
    monkeypatch.chdir(tmp_path)  # default --out lands here
    code = main([a.format(d=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("hetsim: error: "), err
    assert "default.yaml" not in err, err  # a flag's error never blames the built-in scenario
    for n in needles:
        assert n in err, (n, err)


@pytest.mark.parametrize("sid", ["S9", "S1b", "HW99", "V7", "C9", "A4", "HL2", "Q"])
def test_devices_check_catches_every_source_id_form(tmp_path, capsys, sid):
    p = tmp_path / "bad.yaml"
    p.write_text(SOURCE_LESS % sid)
    assert main(["devices", "check", str(p)]) == 2
    out = capsys.readouterr().out
    assert f"cites {sid}, which is not in the file's 'sources'" in out


def test_devices_check_passes_defined_ids_and_free_text(tmp_path, capsys):
    p = tmp_path / "ok.yaml"
    p.write_text(SOURCE_LESS % "S1 (datasheet table 2)")
    assert main(["devices", "check", str(p)]) == 0, capsys.readouterr().out
    p.write_text(SOURCE_LESS % "AMD datasheet, table 2")
    assert main(["devices", "check", str(p)]) == 0, capsys.readouterr().out


def test_devices_show_prints_citation_text(capsys):
    assert main(["devices", "show", "v80", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    cited = [r["source"] for r in doc["numbers"] if r["source"].startswith(("A1", "U"))]
    assert cited and all(" — " in s for s in cited), cited


_TINY_DSA = {"hidden_size": 8, "q_lora_rank": 8, "num_heads": 1, "kv_lora_rank": 8, "qk_rope_head_dim": 8,
             "qk_nope_head_dim": 8, "v_head_dim": 8, "index_num_heads": 1, "index_head_dim": 8,
             "context_len": 16}


def test_huge_num_layers_is_refused_without_building(tmp_path, capsys, monkeypatch):
    """The size guard answers from the parameters: the graph builder is never entered."""
    from hetsim.workloads import dsa_decode

    def no_build(*a, **k):
        raise AssertionError("the graph was built")

    monkeypatch.setattr(dsa_decode, "_layer", no_build)
    p = tmp_path / "s.yaml"
    for edits, needle in (
            ((("workload.params", {"num_layers": 10_000_000}),), "no mapping can place it"),
            # without fast-forward every task would be built: refused by run.max_tasks
            ((("workload.params", {"num_layers": 10_000_000, **_TINY_DSA}), ("run", {"fast_forward": "off"})),
             "130,000,000 tasks, above the limit run.max_tasks")):
        p.write_text(_doc(DSA, *edits))
        assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "s.yaml: workload.params:" in err and needle in err, err


def test_huge_num_layers_that_fit_are_fast_forwarded_not_built(tmp_path, capsys, monkeypatch):
    """10M small layers fit in memory: fast-forward simulates a window of a few layers and
    extrapolates (hetsim/fastforward.py), so the answer comes without building 130M tasks."""
    import json

    from hetsim.workloads import dsa_decode

    calls = []
    real = dsa_decode._layer
    monkeypatch.setattr(dsa_decode, "_layer", lambda *a, **k: calls.append(1) or real(*a, **k))
    p = tmp_path / "s.yaml"
    p.write_text(_doc(DSA, ("workload.params", {"num_layers": 10_000_000, **_TINY_DSA})))
    assert main(["run", str(p), "--out", str(tmp_path / "o"), "--no-plot", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["fast_forward"]["used"] and res["fast_forward"]["blocks"] == 10_000_000
    assert len(calls) < 100, len(calls)


def test_max_tasks_is_configurable(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text(_doc(DSA, ("run", {"max_tasks": 10})))
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    assert "26 tasks, above the limit run.max_tasks = 10" in capsys.readouterr().err


@pytest.mark.parametrize("wl,params", [
    ("dsa_decode", {}), ("dsa_decode", {"num_layers": 3, "batch": 4, "micro_batches": 3}),
    ("dsa_decode", {"num_layers": 2, "ffn_intermediate_size": 64, "context_len": 100}),
    ("rag_dense", {}), ("rag_dense", {"num_layers": 2, "decode_tokens": 3}),
    ("rag_dense", {"num_layers": 1, "retriever": "bm25", "num_docs": 5, "top_k": 9}),
    ("custom", CUSTOM["workload"]["params"])])
def test_estimate_matches_the_built_graph(wl, params):
    """The size guard's estimate is exact for the built-in workloads."""
    from hetsim.workloads.registry import workloads

    w = workloads()[wl]
    p = w.params.model_validate(params)
    tasks, data = w.estimate(p)
    g = w.build(p)
    assert tasks == g.number_of_nodes()
    assert data == g.graph["data"]


def test_workload_without_estimate_is_built_under_a_task_budget(monkeypatch):
    from hetsim.errors import GraphError
    from hetsim.workloads import registry

    wl = registry.workloads()["dsa_decode"]
    monkeypatch.setitem(registry._BUILTIN, "dsa_decode",
                        registry.Workload(wl.name, wl.params, wl.build, wl.description, None))
    with pytest.raises(GraphError, match="more than 100 tasks"):  # stops at the budget
        registry.build_workload("dsa_decode", {"num_layers": 10_000_000}, max_tasks=100)


@pytest.mark.parametrize("text,needle", [
    # YAML reads 1e100 and 1 as numbers: unknown keys of mixed types must still sort into one line
    ("memory: {value: 1 GB, source: x, capacity_bytes: {1e100: -820, '': 7342}}",
     "memory.capacity_bytes: unknown keys ['', 1e+100]"),
    ("preset: mi210\n    1: 2\n    x: 3", "unknown keys [1, 'kind', 'x'] next to 'preset'"),
])
def test_non_text_keys_get_one_line(tmp_path, capsys, text, needle):
    """Found by the fuzz test in CI: a float next to a text key made sorting the unknown keys
    raise a TypeError traceback instead of the one-line error."""
    p = tmp_path / "s.yaml"
    p.write_text("name: k\nsystem:\n  devices:\n  - name: g\n    kind: gpu\n    " + text + "\n"
                 "workload: {name: dsa_decode}\nmapping: {policy: gpu-only}\n")
    assert main(["run", str(p), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hetsim: error: ") and needle in err, err


def test_devices_check_reads_stack_files_too(tmp_path, capsys):
    """A stack number citing an undefined source id is a problem like a device's (stack files
    were not checked at all); the shipped stacks are among the files checked."""
    from hetsim import catalog

    shipped = catalog.load_preset("stacks", "pytorch-eager").path
    (tmp_path / "stacks").mkdir()
    p = tmp_path / "stacks" / "bad.yaml"
    p.write_text(shipped.read_text().replace('source: "N1"', 'source: "K99"', 1))
    assert main(["devices", "check", str(p), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert str(shipped) in report["files"]
    assert [x for x in report["problems"] if "cites K99" in x] == [
        f"{p}: classes.elementwise.dispatch_by_family.cdna2.op_s: cites K99, which is not in the "
        "file's 'sources' (defined: " + ", ".join(catalog.load_preset("stacks", "pytorch-eager").sources) + ")"]
