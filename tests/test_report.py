"""Reporting: cheap pictures that hide nothing, a streamed trace, and outputs you can skip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hetsim.cli import main
from hetsim.loader import load_scenario, resolve_scenario_path
from hetsim.report.pareto import labelled_points
from hetsim.report.perfetto import chrome_trace, write_chrome_trace
from hetsim.report.plots import bars_by_row_and_step, plot_timeline, timeline_rows
from hetsim.report.sweep_plot import best_baseline, speedups
from hetsim.simulation import run_scenario
from hetsim.sweep import Axis


SMALL = """name: small
system: {devices: [{preset: mi210, name: gpu}, {preset: u55c, name: fpga}], links: [{preset: p2p-host-jump, between: [gpu, fpga], name: p2p}]}
workload: {name: dsa_decode, params: {context_len: 4096, batch: 1, num_layers: 6}}
mapping: {policy: hetero}
"""


def _small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return str(p)


def _run():
    p = resolve_scenario_path(None)
    return run_scenario(load_scenario(p), file=str(p))


def test_streamed_trace_is_the_same_document(tmp_path):
    out = _run()
    write_chrome_trace(out.trace, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == json.loads(json.dumps(chrome_trace(out.trace)))


def test_timeline_bars_cover_every_record_and_merge_only_below_a_pixel():
    trace = _run().trace
    rows = timeline_rows(trace)
    f, xmax = 1e3, trace.makespan_s * 1e3
    exact = bars_by_row_and_step(trace, rows, f, xmax)
    assert sum(len(b) for b in exact.values()) <= len(trace.records)
    # every record's start lies inside a bar of its row and step
    index = {r: i for i, r in enumerate(rows)}
    for r in trace.records[::17]:
        bars = exact[(index[r.resource], r.step)]
        assert any(s - 1e-12 <= r.start_s * f <= s + w + 1e-12 for s, w in bars)
    coarse = bars_by_row_and_step(trace, rows, f, xmax, min_width=xmax / 500)
    assert sum(len(b) for b in coarse.values()) < sum(len(b) for b in exact.values())
    assert all(w >= 2 * xmax / 500 for b in coarse.values() for _, w in b)  # nothing invisible


def test_timeline_is_one_collection_per_row_and_step_with_labels_on_every_panel(tmp_path, monkeypatch):
    from hetsim.report import plots

    trace = run_scenario(load_scenario(_small(tmp_path)), file="small.yaml").trace
    figs = []
    make = plots.new_figure
    monkeypatch.setattr(plots, "new_figure", lambda **kw: figs.append(make(**kw)) or figs[-1])
    plot_timeline(trace, tmp_path / "t.png")
    axes = figs[0].axes
    assert len(axes) == 2  # run view and the first-two-layers zoom
    pairs = {(r.resource, r.step) for r in trace.records}
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert 0 < len(ax.collections) <= len(pairs)


def test_timeline_png_is_drawn_without_pyplot(tmp_path):
    # pyplot's interactive machinery is never needed for a file: a bare Figure + Agg canvas
    s = _small(tmp_path)
    code = ("import sys; from hetsim.cli import main; "
            f"rc = main(['run', {s!r}, '--json', '--out', {str(tmp_path)!r}]); "
            "print('PYPLOT' if 'matplotlib.pyplot' in sys.modules else 'NOPYPLOT', rc, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stderr.strip().splitlines()[-1] == "NOPYPLOT 0", p.stderr
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paths_that_draw_nothing_never_import_matplotlib(tmp_path):
    # matplotlib costs ~0.5 s to import: only a command that writes a PNG may pay it
    s = _small(tmp_path)
    code = ("import sys; from hetsim.cli import main; "
            f"rc = main(['run', {s!r}, '--json', '--no-plot', '--out', {str(tmp_path)!r}]); "
            "rc2 = main(['devices', '--json']); "
            f"rc3 = main(['compare', {s!r}, '--no-plot', '--out', {str(tmp_path / 'c')!r}]); "
            "print('MPL' if 'matplotlib' in sys.modules else 'NOMPL', rc, rc2, rc3, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stderr.strip().splitlines()[-1] == "NOMPL 0 0 0", p.stderr
    assert (tmp_path / "result.json").exists() and not (tmp_path / "timeline.png").exists()
    assert not (tmp_path / "c" / "compare.png").exists()
    assert not (tmp_path / "c" / "baseline" / "timeline.png").exists()


def test_no_plot_run_writes_everything_but_the_png(tmp_path, capsys):
    assert main(["run", _small(tmp_path), "--no-plot", "--out", str(tmp_path / "o")]) == 0
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"result.json", "trace.json", "scenario.resolved.json"}


def test_devices_and_workloads_print_json(tmp_path, capsys):
    assert main(["devices", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "u55c" in doc["devices"] and doc["devices"]["u55c"]["capacity_bytes"] > 0 and doc["links"]
    assert main(["devices", "check", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["problems"] == [] and len(doc["files"]) >= 2
    assert main(["workloads", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dsa_decode"]["params"]["context_len"]["required"] is False
    assert doc["custom"]["params"]["tasks"]["required"] is True


def test_devices_check_json_reports_problems_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nkind: gpu\n")
    assert main(["devices", "check", str(bad), "--json"]) == 2
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert doc["ok"] is False and any("bad.yaml" in p for p in doc["problems"])
    assert cap.err.count("\n") == 1  # the one-line error


class _C:
    def __init__(self, ms, e):
        self.result = {"makespan_s": ms, "energy_j": e}


class _Res:
    objective = "latency"

    def __init__(self, cands):
        self.candidates = cands
        self.best = cands[0]

    def pareto(self):
        return [self.candidates[0]]


def test_pareto_labels_every_point_even_when_they_coincide(tmp_path):
    from hetsim.report.pareto import plot_pareto

    res = _Res([_C(1e-3, 2.0), _C(2e-3, 3.0)])
    named = {"gpu-only": {"makespan_s": 1e-3, "energy_j": 2.0}}
    pts = labelled_points(res, named)
    assert [p[0] for p in pts] == ["front 1", "gpu-only", "best (latency)"]  # a one-point front shows
    plot_pareto(res, named, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_speedup_is_against_the_best_baseline_run_at_each_x(tmp_path):
    from hetsim.report.sweep_plot import plot_sweep

    def row(x, mb, m, ms):
        return {"point": {"c": x, "mb": mb}, "mapping": m, "makespan_s": ms, "energy_j": 1.0}

    rows = [row(1, 1, "gpu-only", 4.0), row(1, 4, "gpu-only", 2.0), row(1, 1, "hetero", 3.0),
            row(1, 4, "hetero", 1.0), row(2, 1, "gpu-only", 8.0),
            {"point": {"c": 2, "mb": 4}, "mapping": "gpu-only", "error": "too big"}]
    assert best_baseline(rows, "c", "gpu-only") == {1: 2.0, 2: 8.0}
    sp = {(r["point"]["mb"], r["point"]["c"]): v for r, v in speedups(rows, "c", "gpu-only")}
    # paired at equal mb, hetero at mb=1 would read 4/3 faster; against the best baseline it is slower
    assert sp == {(1, 1): 2.0 / 3.0, (4, 1): 2.0}
    plot_sweep(rows, [Axis("c", (1, 2)), Axis("mb", (1, 4))], ["gpu-only", "hetero"], tmp_path / "s.png")
    assert (tmp_path / "s.png").exists()


def test_timeline_drawn_by_the_forked_worker_is_the_in_process_picture(tmp_path, monkeypatch):
    import os

    from hetsim.report import plot_worker

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    trace = run_scenario(load_scenario(_small(tmp_path)), file="small.yaml").trace
    monkeypatch.setattr(plot_worker, "_core_free", lambda: True)
    monkeypatch.delenv("HETSIM_PLOT_WORKER", raising=False)
    with plot_worker.TimelineWorker() as w:
        assert w.pid is not None
        w.draw(trace, tmp_path / "child.png", title="t")
        assert w.pid is None  # reaped
    plot_timeline(trace, tmp_path / "inline.png", title="t")
    assert (tmp_path / "child.png").read_bytes() == (tmp_path / "inline.png").read_bytes()
    # a run that fails before drawing releases the child without a picture
    with plot_worker.TimelineWorker() as w:
        pid = w.pid
    assert w.pid is None and pid is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_warm_up_leaves_the_next_picture_unchanged(tmp_path):
    # the plot worker draws a throw-away timeline while it waits; the real one must not move
    s = _small(tmp_path)
    code = ("from pathlib import Path; from hetsim.loader import load_scenario; "
            "from hetsim.simulation import run_scenario; from hetsim.report import plots; "
            f"t = run_scenario(load_scenario({s!r}), file='s.yaml').trace; "
            f"plots.plot_timeline(t, Path({str(tmp_path / 'cold.png')!r}), title='t'); "
            "plots.warm_up(); "
            f"plots.plot_timeline(t, Path({str(tmp_path / 'warm.png')!r}), title='t')")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "cold.png").read_bytes() == (tmp_path / "warm.png").read_bytes()


def test_fresh_run_draws_the_same_png_in_the_plot_worker_as_in_process(tmp_path):
    # a whole `hetsim run` process: the forked worker (3D toolkit blocked, warm-up, collector
    # paused) writes the bytes that drawing in process writes, and prints no warning
    import os

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    s = _small(tmp_path)
    for mode in ("fork", "inline"):
        code = ("import sys; from hetsim.cli import main; "
                f"sys.argv = ['hetsim', 'run', {s!r}, '--json', '--out', {str(tmp_path / mode)!r}]; "
                "sys.exit(main())")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HETSIM_PLOT_WORKER": mode})
        assert p.returncode == 0 and p.stderr == "", p.stderr
    assert (tmp_path / "fork" / "timeline.png").read_bytes() == (tmp_path / "inline" / "timeline.png").read_bytes()


def test_timeline_png_has_the_pixels_of_the_default_encoding(tmp_path, monkeypatch):
    # the timeline is written with zlib level 1 for speed: lossless, so the same image as
    # matplotlib's default PNG settings, and the same metadata
    from PIL import Image

    from hetsim.report import plots

    trace = run_scenario(load_scenario(_small(tmp_path)), file="small.yaml").trace
    plots.plot_timeline(trace, tmp_path / "fast.png", title="t")
    monkeypatch.setattr(plots, "_PNG", {})
    plots.plot_timeline(trace, tmp_path / "default.png", title="t")
    fast, default = Image.open(tmp_path / "fast.png"), Image.open(tmp_path / "default.png")
    assert (fast.mode, fast.size, fast.info) == (default.mode, default.size, default.info)
    assert fast.tobytes() == default.tobytes()
    assert (tmp_path / "fast.png").read_bytes() != (tmp_path / "default.png").read_bytes()


def test_default_run_imports_neither_numpy_nor_unused_workloads(tmp_path):
    # start-up time of `hetsim run`: numpy (~0.15 s) and the other workload modules are not needed
    code = ("import sys; from hetsim.cli import main; "
            f"rc = main(['run', '--json', '--no-plot', '--out', {str(tmp_path)!r}]); "
            "wl = sorted(m for m in sys.modules if m.startswith('hetsim.workloads.') "
            "and m.split('.')[-1] not in ('registry', 'sizing', 'dsa_decode')); "
            "print('numpy' in sys.modules, wl, rc, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stderr.strip().splitlines()[-1] == "False [] 0", p.stderr
