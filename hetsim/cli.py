"""The ``hetsim`` command: the only module that reads argv, prints, or sets exit codes.

Exit codes: 0 on success; 2 for every failure the user can fix (a bad scenario, table or
flag, a device file without sources) with one line on stderr, so scripts can tell such
errors from a crash (a traceback, exit 1); 3 when a sweep finished but some of its runs
failed (every output is written; each distinct reason is printed once on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from .errors import ConfigError, HetsimError

EXIT_USER_ERROR = 2
EXIT_SWEEP_FAILED_RUNS = 3


def one_line(text: str) -> str:
    """Escape control characters (a YAML key can hold a newline) so an error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _console(json_mode: bool) -> Console:
    # in --json mode stdout carries only JSON; the tables go nowhere
    return Console(stderr=True, quiet=True) if json_mode else Console(highlight=False)


def _write_run(out, outdir: Path, title: str, *, plot: bool = True, stage=lambda **_: None) -> dict:
    from .report.perfetto import write_chrome_trace

    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "result.json").write_text(json.dumps(out.result, indent=2, sort_keys=True))
    stage(stage="writing trace.json")
    write_chrome_trace(out.trace, outdir / "trace.json")
    (outdir / "scenario.resolved.json").write_text(
        out.scenario.model_dump_json(indent=2))
    files = {"result": str(outdir / "result.json"), "trace": str(outdir / "trace.json"),
             "scenario": str(outdir / "scenario.resolved.json")}
    if plot:
        from .report.plots import plot_timeline

        stage(stage="drawing timeline.png")
        plot_timeline(out.trace, outdir / "timeline.png", title=title)
        files["timeline"] = str(outdir / "timeline.png")
    return files


def cmd_run(args) -> int:
    from .loader import load_scenario, resolve_scenario_path
    from .report.table import run_tables
    from .simulation import run_scenario

    from .report.progress import progress

    path = resolve_scenario_path(args.scenario)
    scenario = load_scenario(path)
    with progress("run", enabled=not args.json) as update:
        update(stage="simulating")
        out = run_scenario(scenario, mapping=args.mapping, file=str(path), queue_policy=args.queue_policy)
        files = _write_run(out, Path(args.out), f"{scenario.name} — {out.mapping.policy}",
                           plot=not args.no_plot, stage=update)
    if args.json:
        print(json.dumps(out.result, indent=2, sort_keys=True))
    else:
        con = _console(False)
        run_tables(out.result, con)
        con.print("wrote " + ", ".join(v for k, v in files.items() if k != "scenario"))
    return 0


def cmd_compare(args) -> int:
    from .loader import load_scenario, resolve_scenario_path
    from .metrics import compare
    from .report.progress import progress
    from .report.table import compare_table
    from .simulation import run_scenario

    path = resolve_scenario_path(args.scenario)
    scenario = load_scenario(path)
    outdir = Path(args.out)
    runs = {}
    with progress("compare", enabled=not args.json) as update:
        for i, (role, policy) in enumerate((("baseline", args.baseline), ("candidate", args.candidate))):
            update(completed=i, total=2, stage=f"simulating {role} ({policy})")
            runs[role] = run_scenario(scenario, mapping=policy, file=str(path),
                                      queue_policy=args.queue_policy)
            _write_run(runs[role], outdir / role, f"{scenario.name} — {policy}", plot=not args.no_plot,
                       stage=lambda stage, role=role, **_: update(stage=f"{role}: {stage}"))
        update(completed=2, stage="comparing")
        cmp = compare(runs["baseline"].result, runs["candidate"].result)
        (outdir / "compare.json").write_text(json.dumps(cmp, indent=2, sort_keys=True))
        if not args.no_plot:
            from .report.plots import plot_compare

            plot_compare(cmp, outdir / "compare.png", (args.baseline, args.candidate))
    if args.json:
        print(json.dumps(cmp, indent=2, sort_keys=True))
    else:
        con = _console(False)
        compare_table(cmp, con, (args.baseline, args.candidate))
        png = "" if args.no_plot else f", {outdir / 'compare.png'}"
        con.print(f"wrote {outdir / 'compare.json'}{png} and both runs' files")
    return 0


def cmd_map(args) -> int:
    from rich.table import Table

    from .loader import load_scenario, resolve_scenario_path
    from .mapping.search import objective_value
    from .report.progress import progress
    from .simulation import search_scenario
    from .units import format_quantity

    path = resolve_scenario_path(args.scenario)
    scenario = load_scenario(path)
    con = _console(args.json)
    with progress("searching mappings", enabled=not args.json) as update:
        res, named = search_scenario(
            scenario, args.objective, file=str(path), granularity=args.granularity,
            exhaustive_limit=args.exhaustive_limit, max_evaluations=args.max_evaluations,
            progress=lambda done, total: update(completed=done, total=total))
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    ranked = sorted(res.candidates, key=lambda c: c.value(args.objective))
    doc = {
        "objective": args.objective, "method": res.method, "proven_optimal": res.proven_optimal,
        "space_size": res.space_size, "evaluated": len(res.candidates), "pruned": res.pruned,
        "infeasible": res.infeasible, "notes": res.notes,
        "variables": {v.name: {"tasks": len(v.tasks), "data": sorted(v.data), "domain": list(v.domain)}
                      for v in res.variables},
        "best": [{"choice": c.choice, "makespan_s": c.result["makespan_s"], "energy_j": c.result["energy_j"],
                  "value": c.value(args.objective)} for c in ranked[: args.top]],
        "pareto": [{"choice": c.choice, "makespan_s": c.result["makespan_s"], "energy_j": c.result["energy_j"]}
                   for c in res.pareto()],
        "policies": {k: {"makespan_s": v["makespan_s"], "energy_j": v["energy_j"],
                         "value": objective_value(v, args.objective)} for k, v in named.items()},
    }
    (outdir / "map.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
    if not args.no_plot:
        from .report.pareto import plot_pareto

        plot_pareto(res, named, outdir / "pareto.png", f"{scenario.name}: {args.objective}")
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    con.print(f"[bold]{scenario.name}[/]: {res.method} over {res.space_size} mappings "
              f"({len(res.candidates)} simulated, {res.pruned} branches pruned, {res.infeasible} "
              f"infeasible); {'optimal' if res.proven_optimal else 'best found (not proven optimal)'} "
              f"for {args.objective}")
    names = [v.name for v in res.variables]
    t = Table(title=f"best {min(args.top, len(ranked))} mappings", title_justify="left")
    t.add_column("#")
    for n in names:
        t.add_column(n, overflow="fold")
    for c in ("makespan", "energy (J)", args.objective):
        t.add_column(c, justify="right")
    for i, c in enumerate(ranked[: args.top]):
        t.add_row(str(i + 1), *[c.choice[n] for n in names], format_quantity(c.result["makespan_s"], "s"),
                  f"{c.result['energy_j']:.4g}", f"{c.value(args.objective):.4g}")
    con.print(t)
    p = Table(title="Pareto front (makespan vs energy)", title_justify="left")
    for c in ("makespan", "energy (J)", "mapping"):
        p.add_column(c)
    for c in res.pareto():
        p.add_row(format_quantity(c.result["makespan_s"], "s"), f"{c.result['energy_j']:.4g}",
                  ", ".join(f"{k}={v}" for k, v in c.choice.items()))
    con.print(p)
    if named:
        q = Table(title="named policies", title_justify="left")
        for c in ("policy", "makespan", "energy (J)", args.objective):
            q.add_column(c)
        for k, v in named.items():
            q.add_row(k, format_quantity(v["makespan_s"], "s"), f"{v['energy_j']:.4g}",
                      f"{objective_value(v, args.objective):.4g}")
        con.print(q)
    for note in res.notes:
        con.print(f"[yellow]note:[/] {note}")
    con.print(f"wrote {outdir / 'map.json'}" + ("" if args.no_plot else f", {outdir / 'pareto.png'}"))
    return 0


def cmd_sweep(args) -> int:
    import csv

    from .report.progress import progress
    from .sweep import parse_axis, run_sweep

    if not args.set:
        raise ConfigError("a sweep needs at least one --set dotted.path=v1,v2,...")
    axes = [parse_axis(a) for a in args.set]
    mappings = [m.strip() for m in args.mappings.split(",") if m.strip()]
    if not mappings:
        raise ConfigError("--mappings needs at least one policy name")
    out = Path(args.out)
    with progress("sweep", enabled=not args.json) as update:
        res = run_sweep(args.scenario, axes, mappings, out, jobs=args.jobs,
                        use_dask=args.dask or bool(args.scheduler), scheduler=args.scheduler,
                        keep_failed=args.keep_failed,
                        on_result=lambda row, done, total: update(completed=done, total=total),
                        on_notice=lambda note: print(f"hetsim: sweep: {note}", file=sys.stderr))
    rows = res.rows
    fields = [a.path for a in axes] + ["mapping", "makespan_s", "energy_j", "energy_per_token_j",
                                       "memory_processing_fraction", "error"]
    with (out / "sweep.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({**{a.path: r["point"][a.path] for a in axes}, "mapping": r["mapping"],
                        **{k: r.get(k, "") for k in fields[len(axes) + 1:]}})
    if not args.no_plot:
        from .report.sweep_plot import plot_sweep

        plot_sweep(rows, axes, mappings, out / "sweep.png")
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
    else:
        _sweep_table(rows, axes, res, con=_console(False))
        png = "" if args.no_plot else f", {out / 'sweep.png'}"
        _console(False).print(f"wrote {out / 'sweep.jsonl'} (resumable), {out / 'sweep.csv'}{png}")
    failures = res.failures_by_reason()
    if not failures:
        return 0
    # each distinct reason once, in full, with the runs it hit
    print(f"hetsim: sweep: {len(res.failed)} of {len(rows)} runs failed "
          f"(exit {EXIT_SWEEP_FAILED_RUNS}; rows with 'error' in sweep.jsonl):", file=sys.stderr)
    for i, (reason, hit) in enumerate(failures.items(), 1):
        where = "; ".join(", ".join(f"{k.split('.')[-1]}={v}" for k, v in r["point"].items())
                          + f" [{r['mapping']}]" for r in hit)
        print(f"  reason {i} ({len(hit)} run(s): {where}): {one_line(reason)}", file=sys.stderr)
    return EXIT_SWEEP_FAILED_RUNS


def _sweep_table(rows: list[dict], axes, res, con) -> None:
    from rich.table import Table

    from .units import format_quantity

    reasons = {reason: i for i, reason in enumerate(res.failures_by_reason(), 1)}
    t = Table(title=f"sweep ({len(rows)} runs: {res.computed} simulated now, {res.reused} reused)",
              title_justify="left", expand=False)
    for c in [a.path.split(".")[-1] for a in axes] + ["mapping", "makespan", "energy (J)", "mem. proc."]:
        t.add_column(c)
    for r in rows:
        vals = [str(r["point"][a.path]) for a in axes] + [r["mapping"]]
        if "error" in r:
            t.add_row(*vals, f"[red]failed: reason {reasons[r['error']]}[/]", "", "")
        else:
            t.add_row(*vals, format_quantity(r["makespan_s"], "s"), f"{r['energy_j']:.4g}",
                      f"{100 * r['memory_processing_fraction']:.1f}%")
    con.print(t)


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError("this command needs torch (the 'calibrate' extra): "
                          "pip install torch==2.13.0 && pip install 'hetsim[calibrate]'") from None


def _default_table(device: str) -> Path:
    return Path("out") / "calibration" / f"{device}.json"


def cmd_calibrate(args) -> int:
    if args.from_hls_report or args.from_xrt_csv:
        return _ingest(args)
    _require_torch()
    from rich.table import Table

    from calibration.grids import grid_kernels, shape_grid
    from calibration.harness import calibrate
    from calibration.validate import pipeline_shapes

    kernels = args.kernels or grid_kernels()
    grids = {}
    for k in kernels:  # the validation pipelines' own shapes are measured exactly
        shapes = list(shape_grid(k, args.quick))
        for s in pipeline_shapes().get(k, []):
            if s not in shapes:
                shapes.append(s)
        grids[k] = shapes
    out = Path(args.out) if args.out else _default_table(args.device)
    try:
        table = calibrate(args.device, kernels, quick=args.quick, out=out, progress=not args.json,
                          threads=args.threads, repeats=args.repeats, grids=grids)
    except ValueError as e:
        raise ConfigError(str(e), field="--device/--kernels") from None
    errors = {k: v["fit"].get("heldout_error") for k, v in table["kernels"].items()}
    if args.json:
        print(json.dumps({"table": str(out), "kernels": {k: {"heldout_error": e} for k, e in errors.items()},
                          "provenance": table["provenance"]}, indent=2, sort_keys=True))
        return 0
    con = _console(False)
    t = Table(title=f"calibrated {table['device']['name']} ({len(errors)} kernels)", title_justify="left")
    for c in ("kernel", "model", "points", "held-out error"):
        t.add_column(c, justify="left" if c in ("kernel", "model") else "right")
    for k, v in sorted(table["kernels"].items()):
        e = v["fit"].get("heldout_error")
        t.add_row(k, str(v["fit"].get("model")), str(len(v["points"])), "-" if e is None else f"{100 * e:.1f}%")
    con.print(t)
    vals = sorted(e for e in errors.values() if e is not None)
    if vals:
        con.print(f"median held-out error {100 * vals[len(vals) // 2]:.1f}% "
                  f"({table['provenance'].get('elapsed_s', 0):.0f} s); wrote {out}")
    return 0


def _ingest(args) -> int:
    from .ingest.update import ingest_into_table

    con = _console(args.json)
    summary = ingest_into_table(hls_report=args.from_hls_report, xrt_csv=args.from_xrt_csv,
                                kernel=args.kernel, device_file=args.device_file, out=args.out)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        for line in summary.get("lines", []):
            con.print(line, markup=False)
    return 0


def cmd_validate(args) -> int:
    _require_torch()
    from rich.table import Table

    from calibration.validate import plot_validation, validate

    table = Path(args.table) if args.table else _default_table(args.device)
    if not table.exists():
        raise ConfigError(f"no calibrated table at {table}; run 'hetsim calibrate --device {args.device} "
                          "--quick' first or pass --table", field="--table")
    report = validate(table, args.device, repeats=args.repeats)
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "validate.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    if not args.no_plot:
        plot_validation(report, table, outdir / "validate.png")
    if args.json:
        print(json.dumps({"kernels": report["kernels"], "pipelines": report["pipelines"]}, indent=2, sort_keys=True))
        return 0
    con = _console(False)
    t = Table(title="(a) per-kernel held-out error (leave-one-out)", title_justify="left")
    for c in ("kernel", "model", "points", "held-out error"):
        t.add_column(c, justify="left" if c in ("kernel", "model") else "right")
    for k, v in report["kernels"].items():
        e = v["heldout_error"]
        t.add_row(k, str(v["model"]), str(v["points"]), "-" if e is None else f"{100 * e:.1f}%")
    con.print(t)
    if report["median_kernel_heldout_error"] is not None:
        con.print(f"median held-out error: {100 * report['median_kernel_heldout_error']:.1f}%")
    from .units import format_quantity as fq

    p = Table(title="(b) end to end: executed for real vs simulated", title_justify="left")
    for c in ("pipeline", "tasks", "measured (median)", "measured range", "simulated", "error"):
        p.add_column(c, justify="left" if c == "pipeline" else "right")
    for k, v in report["pipelines"].items():
        p.add_row(k, str(v["tasks"]), fq(v["measured_s"], "s"),
                  f"{fq(v['measured_min_s'], 's')} - {fq(v['measured_max_s'], 's')}",
                  fq(v["simulated_s"], "s"), f"{100 * v['error']:.1f}%")
    con.print(p)
    con.print(f"wrote {outdir / 'validate.json'}" + ("" if args.no_plot else f", {outdir / 'validate.png'}"))
    return 0


def cmd_devices(args) -> int:
    from . import devices_cli

    con = _console(getattr(args, "json", False))
    if args.action in (None, "list"):
        return devices_cli.list_presets(con, as_json=args.json)
    if args.action == "show":
        if not args.name:
            raise ConfigError("'hetsim devices show' needs a preset name (see 'hetsim devices')")
        return devices_cli.show(args.name, con, as_json=args.json)
    return devices_cli.check(con, [Path(p) for p in args.files], as_json=args.json)


def cmd_workloads(args) -> int:
    from rich.table import Table

    from .workloads.registry import workloads

    reg = sorted(workloads().items())
    if args.json:
        doc = {name: {"description": wl.description,
                      "params": {k: ({"required": True} if f.is_required() else
                                     {"required": False, "default": f.get_default(call_default_factory=True)})
                                 for k, f in wl.params.model_fields.items()}}
               for name, wl in reg}
        print(json.dumps(doc, indent=2, sort_keys=True, default=str))
        return 0
    con = _console(False)
    t = Table(title="workloads")
    t.add_column("name")
    t.add_column("description")
    t.add_column("parameters (default)")
    for name, wl in reg:
        params = ", ".join(f"{k}={f.get_default(call_default_factory=True)!r}" if not f.is_required() else k
                           for k, f in wl.params.model_fields.items())
        t.add_row(name, wl.description, params)
    con.print(t)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hetsim", description="Discrete-event simulator of "
                                "heterogeneous GPU + FPGA memory systems for LLM inference.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("scenario", nargs="?", default=None,
                        help="scenario YAML file or built-in scenario name (default: 'default')")
        sp.add_argument("--out", default="out", help="output directory (default: out)")
        sp.add_argument("--json", action="store_true", help="print the result object as JSON")
        sp.add_argument("--no-plot", action="store_true", help="skip the PNG pictures (faster for big runs)")
        sp.add_argument("--queue-policy", choices=("fifo", "critical-path-first"), default=None,
                        help="override the scenario's engine queue policy")

    r = sub.add_parser("run", help="simulate a scenario and write result.json, trace.json, timeline.png")
    common(r)
    r.add_argument("--mapping", default=None, help="mapping policy (default: the scenario's)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="run two mappings of one scenario; speed-up and energy reduction")
    common(c)
    c.add_argument("--baseline", default="gpu-only", help="baseline mapping (default: gpu-only)")
    c.add_argument("--candidate", default="hetero", help="candidate mapping (default: hetero)")
    c.set_defaults(func=cmd_compare)

    mp = sub.add_parser("map", help="search the best mappings (latency, energy or EDP) and the Pareto front")
    mp.add_argument("scenario", nargs="?", default=None, help="scenario file or built-in name")
    mp.add_argument("--objective", choices=("latency", "energy", "edp"), default="latency")
    mp.add_argument("--granularity", choices=("auto", "task", "group"), default="auto",
                    help="free tasks one variable each (task) or per step and kernel (group)")
    mp.add_argument("--exhaustive-limit", type=int, default=512,
                    help="enumerate spaces up to this size, branch and bound above (default 512)")
    mp.add_argument("--max-evaluations", type=int, default=2000,
                    help="cap on simulations in branch and bound (default 2000)")
    mp.add_argument("--top", type=int, default=5, help="how many best mappings to list")
    mp.add_argument("--out", default="out", help="output directory (default: out)")
    mp.add_argument("--json", action="store_true")
    mp.add_argument("--no-plot", action="store_true", help="skip pareto.png")
    mp.set_defaults(func=cmd_map)

    sw = sub.add_parser("sweep", help="run a scenario over a grid of parameters and mappings (resumable)")
    sw.add_argument("scenario", nargs="?", default=None, help="scenario file or built-in name")
    sw.add_argument("--set", action="append", default=[], metavar="PATH=V1,V2",
                    help="a swept field, e.g. workload.params.context_len=4096,16384 (repeatable)")
    sw.add_argument("--mappings", default="gpu-only,hetero", help="comma-separated policies")
    sw.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    sw.add_argument("--dask", action="store_true", help="run on dask (extra 'dist'): the cluster at "
                    "--scheduler or $DASK_SCHEDULER_ADDRESS, else a local one of --jobs workers")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="dask scheduler of an existing cluster, e.g. tcp://10.0.0.5:8786 (implies --dask)")
    sw.add_argument("--keep-failed", action="store_true",
                    help="reuse stored failed runs instead of retrying them")
    sw.add_argument("--out", default="out/sweep", help="output directory; re-running resumes")
    sw.add_argument("--json", action="store_true")
    sw.add_argument("--no-plot", action="store_true", help="skip sweep.png")
    sw.set_defaults(func=cmd_sweep)

    ca = sub.add_parser("calibrate", help="time kernels on this machine and fit a cost table "
                        "(or ingest an HLS report / XRT timing CSV)")
    ca.add_argument("--device", choices=("cpu", "cuda", "rocm"), default="cpu")
    ca.add_argument("--kernels", nargs="+", default=None, help="kernel names (default: all)")
    ca.add_argument("--quick", action="store_true", help="reduced grids: under 3 minutes on 2 cores")
    ca.add_argument("--out", default=None, help="table file (default out/calibration/DEVICE.json)")
    ca.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    ca.add_argument("--repeats", type=int, default=None, help="interleaved rounds per shape")
    ca.add_argument("--from-hls-report", default=None, metavar="CSYNTH_XML",
                    help="ingest a Vitis HLS csynth.xml into the FPGA table")
    ca.add_argument("--from-xrt-csv", default=None, metavar="CSV",
                    help="ingest timings written by hls/host into the FPGA table")
    ca.add_argument("--kernel", default=None, help="(ingest) which FPGA kernel the report is for")
    ca.add_argument("--device-file", default=None, help="(ingest) FPGA device file to update "
                    "(default: the u55c preset)")
    ca.add_argument("--json", action="store_true")
    ca.set_defaults(func=cmd_calibrate)

    va = sub.add_parser("validate", help="per-kernel held-out error and end-to-end measured vs "
                        "simulated pipelines on this machine")
    va.add_argument("--device", choices=("cpu", "cuda", "rocm"), default="cpu")
    va.add_argument("--table", default=None, help="calibrated table (default out/calibration/DEVICE.json)")
    va.add_argument("--repeats", type=int, default=5, help="timed runs of each pipeline")
    va.add_argument("--out", default="out/validate", help="where validate.json and validate.png go")
    va.add_argument("--json", action="store_true")
    va.add_argument("--no-plot", action="store_true", help="skip validate.png")
    va.set_defaults(func=cmd_validate)

    d = sub.add_parser("devices", help="list, show or check device and link presets")
    d.add_argument("action", nargs="?", choices=("list", "show", "check"), default="list")
    d.add_argument("name", nargs="?", help="preset name (for show)")
    d.add_argument("files", nargs="*", help="(check) extra files to check besides the presets")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_devices)

    w = sub.add_parser("workloads", help="list workloads and their parameters")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_workloads)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hetsim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "devices" and args.action == "check" and args.name:
        args.files = [args.name, *args.files]
    try:
        return args.func(args)
    except HetsimError as e:
        print(f"hetsim: error: {one_line(str(e))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:  # pragma: no cover
        print("hetsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
