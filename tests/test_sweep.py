"""Sweeps write every run as it finishes and resume where they stopped."""

from __future__ import annotations

import json

import pytest
import yaml

from hetsim.cli import main
from hetsim.errors import ConfigError
from hetsim.sweep import chunked, parse_axis, run_sweep, set_path, sweep

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
    # a key without a dot is a workload parameter, as in run and compare (it was refused as
    # an unknown top-level field)
    assert parse_axis("context_len=1024,2048") == ax
    assert parse_axis("seed=1,2").path == "seed"  # a top-level field stays one


def test_set_shorthand_knows_every_top_level_scenario_field():
    from hetsim.config.scenario import Scenario
    from hetsim.inputs import SCENARIO_FIELDS

    assert set(SCENARIO_FIELDS) == set(Scenario.model_fields)
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


def test_rerun_after_editing_the_scenario_recomputes_changed_points(tmp_path):
    s = _file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024,2048")]
    first = run_sweep(s, axes, ["gpu-only"], tmp_path / "o")
    assert first.computed == 2 and first.stale == 0
    again = run_sweep(s, axes, ["gpu-only"], tmp_path / "o")
    assert again.computed == 0 and again.reused == 2  # nothing changed: nothing rerun
    doc = yaml.safe_load(open(s))
    doc["workload"]["params"]["batch"] = 8  # the newcomer's edit: batch 1 -> 8
    open(s, "w").write(yaml.safe_dump(doc))
    said = []
    edited = run_sweep(s, axes, ["gpu-only"], tmp_path / "o", on_notice=said.append,
                       on_result=lambda r, d, t: said.append("run"))
    assert edited.stale == 2 and edited.computed == 2
    assert "fingerprint" in said[0] and said[1:] == ["run", "run"]  # said so before running
    assert all(b["makespan_s"] > a["makespan_s"] for a, b in zip(first.rows, edited.rows))
    # the file keeps one current row per run, so a later resume reads the new answers
    lines = [json.loads(x) for x in (tmp_path / "o" / "sweep.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and {r["fingerprint"] for r in lines} == {r["fingerprint"] for r in edited.rows}


def test_rows_without_a_fingerprint_are_recomputed(tmp_path):
    s = _file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024")]
    run_sweep(s, axes, ["gpu-only"], tmp_path / "o")
    f = tmp_path / "o" / "sweep.jsonl"
    row = json.loads(f.read_text())
    del row["fingerprint"]  # written by an older hetsim
    f.write_text(json.dumps(row) + "\n")
    assert run_sweep(s, axes, ["gpu-only"], tmp_path / "o").stale == 1


def _failing_file(tmp_path):
    # context 131072 does not fit the MI210's memory with this batch: that run fails
    doc = {**SCENARIO, "workload": {"name": "dsa_decode",
                                    "params": {"context_len": 1024, "batch": 64, "num_layers": 2}}}
    p = tmp_path / "f.yaml"
    p.write_text(yaml.safe_dump(doc))
    return str(p)


def test_failed_runs_are_retried_unless_keep_failed(tmp_path):
    s = _failing_file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024,1048576")]
    first = run_sweep(s, axes, ["gpu-only"], tmp_path / "o")
    assert len(first.failed) == 1 and first.failed[0]["point"]["workload.params.context_len"] == 1048576
    kept = run_sweep(s, axes, ["gpu-only"], tmp_path / "o", keep_failed=True)
    assert kept.computed == 0 and len(kept.failed) == 1
    seen = []
    retried = run_sweep(s, axes, ["gpu-only"], tmp_path / "o", on_result=lambda r, d, t: seen.append(r))
    assert retried.retried == 1 and retried.computed == 1
    assert [r["point"]["workload.params.context_len"] for r in seen] == [1048576]


def test_sweep_with_a_failed_run_exits_3_and_prints_the_full_reason_once(tmp_path, capsys):
    s = _failing_file(tmp_path)
    code = main(["sweep", s, "--set", "workload.params.context_len=1024,1048576,2097152",
                 "--mappings", "gpu-only", "--out", str(tmp_path / "o")])
    cap = capsys.readouterr()
    assert code == 3
    rows = [json.loads(x) for x in (tmp_path / "o" / "sweep.jsonl").read_text().splitlines()]
    reasons = {r["error"] for r in rows if "error" in r}
    assert len(reasons) >= 1
    for reason in reasons:  # whole, not cut to "ma..."
        assert cap.err.count(reason) == 1
    assert "2 of 3 runs failed" in cap.err
    assert (tmp_path / "o" / "sweep.png").exists()


def test_sweep_runs_the_same_in_worker_chunks(tmp_path):
    s = _file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024,2048,4096")]
    serial = sweep(s, axes, ["gpu-only", "single"], tmp_path / "a")
    pooled = sweep(s, axes, ["gpu-only", "single"], tmp_path / "b", jobs=2)
    assert serial == pooled


def test_chunks_cover_every_run_in_order():
    items = list(range(1000))
    chunks = chunked(items, 2)
    assert [x for c in chunks for x in c] == items
    assert 16 <= len(chunks) <= 64 and max(len(c) for c in chunks) <= 32
    assert chunked([], 2) == [] and chunked([1], 4) == [[1]]


def test_no_plot_writes_no_png(tmp_path, capsys):
    s = _file(tmp_path)
    assert main(["sweep", s, "--set", "workload.params.batch=1", "--mappings", "gpu-only",
                 "--out", str(tmp_path / "o"), "--no-plot", "--json"]) == 0
    assert not (tmp_path / "o" / "sweep.png").exists()
    assert (tmp_path / "o" / "sweep.csv").exists()


def test_a_shared_graph_is_left_as_it_was(tmp_path):
    # sweep workers build a point's graph once and pass it to every mapping's run
    import networkx as nx

    from hetsim.loader import load_scenario
    from hetsim.simulation import run_scenario
    from hetsim.workloads.registry import build_workload

    sc = load_scenario(_file(tmp_path))
    g = build_workload(sc.workload.name, sc.workload.params)
    before = nx.node_link_data(g, edges="links")
    a = run_scenario(sc, mapping="gpu-only", graph=g)
    assert nx.node_link_data(g, edges="links") == before
    assert a.result == run_scenario(sc, mapping="gpu-only").result


def test_dask_path_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    s = _file(tmp_path)
    axes = [parse_axis("workload.params.context_len=1024,2048")]
    local = sweep(s, axes, ["gpu-only"], tmp_path / "a")
    # an existing cluster, reached by its scheduler address (threads: quick to start)
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        dask = sweep(s, axes, ["gpu-only"], tmp_path / "b", use_dask=True, scheduler=cluster.scheduler_address)
    assert dask == local
