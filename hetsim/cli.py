"""The ``hetsim`` command: the only module that reads argv, prints, or sets exit codes.

Exit codes: 0 on success; 2 for every failure the user can fix (a bad scenario, table or
flag, a device file without sources) with one line on stderr, so scripts can tell such
errors from a crash (a traceback, exit 1); 3 when a sweep finished but some of its runs
failed (every output is written; each distinct reason is printed once on stderr).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from . import inputs
from .inputs import set_key
from .inputs import shown as _shown
from .errors import CapacityError, ConfigError, HetsimError, InputWarning, restated
from .limits import MAX_JOBS, MAX_SEARCH_EVALUATIONS

EXIT_USER_ERROR = 2
EXIT_SWEEP_FAILED_RUNS = 3
SWEEP_MAPPINGS = "gpu-only,hetero"  # what a sweep runs at every point unless --mappings says


def one_line(text: str) -> str:
    """Escape control characters (a YAML key can hold a newline) so an error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error contract: one line on stderr, exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse API
        print(f"hetsim: error: {one_line(message)} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR)


def _int_at_least(low: int, high: int | None = None, why: str = ""):
    """argparse type: an integer >= *low* (and <= *high*, when given; *why* says why)."""
    allowed = f"an integer >= {low}" if high is None else f"an integer from {low} to {high:,}{why}"

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text[:40]!r}") from None
        if v < low or (high is not None and v > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {v:,}")
        return v

    parse.__name__ = allowed
    return parse


#: files each command writes into its output directory (checked before any work)
RUN_FILES = ("result.json", "trace.json", "scenario.resolved.json", "timeline.png")


def prepare_outdir(path: str | Path, flag: str = "--out", files: tuple[str, ...] = ()) -> Path:
    """Create the output directory *path* and check it is writable (ConfigError naming *flag*).

    *files* are the names the command will write there: one that exists as a directory
    would fail only after the work, so it is refused here.
    """
    import tempfile

    if not str(path).strip():
        raise ConfigError("is empty; name a directory (e.g. out)", field=flag)
    p = Path(path)
    try:
        inputs.exists(p, "directory")
    except ConfigError as e:  # a NUL byte or a name too long for the file system
        raise ConfigError(e.detail, field=flag) from None
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{str(p)!r} exists and is not a directory; name a directory",
                          field=flag)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as e:
        raise ConfigError(f"cannot write into {str(p)!r}: {e.strerror or e}; name a writable "
                          "directory", field=flag) from None
    for name in files:
        if (p / name).is_dir():
            raise ConfigError(f"{str(p / name)!r} is a directory; hetsim writes its {name} there "
                              "(remove it or name another directory)", field=flag)
    return p


def prepare_outfile(path: str | Path, flag: str = "--out") -> Path:
    """Check an output *file* can be written (its directory is made): not empty, not a directory."""
    if not str(path).strip():
        raise ConfigError("is empty; name a file", field=flag)
    p = Path(path)
    try:
        inputs.exists(p, "file")
    except ConfigError as e:
        raise ConfigError(e.detail, field=flag) from None
    if p.is_dir():
        raise ConfigError(f"{str(p)!r} is a directory; name the file to write", field=flag)
    prepare_outdir(p.parent, flag=flag)
    return p


def _load(arg, *, sets=(), mappings=(), mappings_flag="--mapping"):
    """Resolve, read and check a scenario before any work or progress output.

    *sets* are ``--set KEY=VALUE`` overrides (:func:`_load_with_sets`); an error in a value
    they set names the ``--set`` flag, not the scenario file.
    """
    from .simulation import check_scenario

    path, scenario = _load_with_sets(arg, list(sets))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            check_scenario(scenario, file=str(path), mappings=[m for m in mappings if m is not None],
                           mappings_flag=mappings_flag)
        except CapacityError as e:
            raise _blame_capacity(e, arg, sets, mappings, mappings_flag) from None
        except HetsimError as e:
            raise _blame_set(e, sets) from None
    for w in caught:  # a knob set by --set to no effect: the warning names the flag
        m = w.message
        flag = _set_flag(m.field, sets) if isinstance(m, InputWarning) else None
        warnings.warn(InputWarning(m.detail, field=flag) if flag else m, stacklevel=2)
    return path, scenario


def _set_flag(field: str | None, sets) -> str | None:
    """``--set ITEM`` when *field* is one that ``--set ITEM`` set (else None)."""
    f = field or ""
    for item in sets:
        key = set_key(item.partition("=")[0])
        if f == key or f.startswith(key + ".") or key.startswith(f + ".") or _tagged(f, key):
            return f"--set {item}"
    return None


def _tagged(field: str, key: str) -> bool:
    """True when *field* is *key* with one segment more inside, the tag pydantic puts into
    the path of a union member (``forward.piecewise_bandwidth.latency_s`` for ``--set
    ...forward.latency_s``); such an error was blamed on the scenario file."""
    fs, ks = field.split("."), key.split(".")
    return len(fs) == len(ks) + 1 and any(fs[:i] + fs[i + 1:] == ks for i in range(1, len(fs) - 1))


def _blame_capacity(err: CapacityError, arg, sets, mappings, mappings_flag) -> HetsimError:
    """A capacity error (data no device can hold) names the ``--set`` flags when the scenario
    fits without them: a smaller device preset set by a flag used to be blamed on the
    scenario file's ``workload.params``."""
    from .simulation import check_scenario

    blamed = _blame_set(err, sets)
    if blamed is not err or not sets:
        return blamed
    try:
        path, plain = _load_with_sets(arg, [])
        check_scenario(plain, file=str(path), mappings=[m for m in mappings if m is not None],
                       mappings_flag=mappings_flag)
    except HetsimError:
        return err  # the file alone does not fit either: it is the file's error
    where = f"{err.field}: " if err.field else ""
    return CapacityError(f"{where}{err.detail} (the scenario fits without these flags)",
                         field=" ".join(f"--set {s}" for s in sets))


def _blame_set(err: HetsimError, sets) -> HetsimError:
    """*err* naming the ``--set`` flag when its field is one that flag set (else unchanged)."""
    flag = _set_flag(err.field, sets)
    return ConfigError(err.detail, field=flag) if flag else err


@contextmanager
def _sets_blamed(sets):
    """Errors raised while simulating name the ``--set`` flag that set their field.

    Why: some values are checked only when a task is priced (a datatype the device it runs
    on lacks); the error then named the scenario file even when a flag had put the value there.
    """
    try:
        yield
    except HetsimError as e:
        blamed = _blame_set(e, sets)
        if blamed is e and sets:  # a field no flag set, of a scenario the flags changed (no
            # route left after --set system.links=[]): the file alone may be fine, so say both
            blamed = restated(e, f"{e.detail} (in the scenario as changed by "
                                 f"{' '.join(f'--set {s}' for s in sets)})", file=e.file, field=e.field)
        raise blamed from None


def _rich_console(**kwargs):
    """rich's Console, imported on first use: ``hetsim run`` forks its plot worker first."""
    from rich.console import Console as RichConsole

    return RichConsole(**kwargs)


def _console(json_mode: bool):
    # in --json mode stdout carries only JSON; the tables go nowhere
    return _rich_console(stderr=True, quiet=True) if json_mode else _rich_console(highlight=False)


def _write_run(out, outdir: Path, title: str, *, plot: bool = True, stage=lambda **_: None,
               worker=None, while_drawing=None) -> dict:
    """Write result, trace, resolved scenario and (with *plot*) the timeline PNG.

    *while_drawing*, if given, is called once the plot worker has the trace and the JSON
    files are written, before waiting for the PNG (work that overlaps the child's drawing).
    """
    from .report.perfetto import write_chrome_trace

    outdir.mkdir(parents=True, exist_ok=True)
    if plot and worker is not None:  # the child draws while this process writes the files below
        worker.send(out.trace, outdir / "timeline.png", title=title)
    (outdir / "result.json").write_text(json.dumps(out.result, indent=2, sort_keys=True))
    stage(stage="writing trace.json")
    write_chrome_trace(out.trace, outdir / "trace.json")
    (outdir / "scenario.resolved.json").write_text(
        out.scenario.model_dump_json(indent=2))
    files = {"result": str(outdir / "result.json"), "trace": str(outdir / "trace.json"),
             "scenario": str(outdir / "scenario.resolved.json")}
    if while_drawing is not None:
        while_drawing()
    if plot:
        from .report.plots import plot_timeline

        stage(stage="drawing timeline.png")
        if worker is not None:
            worker.finish()
        else:
            plot_timeline(out.trace, outdir / "timeline.png", title=title)
        files["timeline"] = str(outdir / "timeline.png")
    return files


def _load_with_sets(arg: str | None, sets: list[str]):
    """The scenario *arg* with every ``--set KEY=VALUE`` applied before validation.

    A dotted KEY is a path into the scenario document (``mapping.policy=gpu-only``); a bare
    KEY is a workload parameter (``model=qwen3-14b``, ``context_len=131072``, ``batch=4``,
    ``phase=prefill``, ``steps=16``). VALUE is read as a YAML scalar.
    """
    from . import catalog
    from .inputs import flag_value
    from .loader import resolve_scenario_path, scenario_from_dict

    if sets:  # the sweep module (process pools, hashing) only when there is something to set
        from .sweep import set_path
    path = resolve_scenario_path(arg)
    doc = catalog.read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError("a scenario file must be a mapping", file=str(path))
    seen: dict[str, str] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not k for k in key.split(".")):
            raise ConfigError(f"--set {item!r} must look like KEY=VALUE (e.g. context_len=131072 "
                              "or mapping.policy=gpu-only)", field="--set")
        full = set_key(key)
        for other, first in seen.items():  # the last would silently win (as in sweep and reproduce)
            if full == other or full.startswith(other + ".") or other.startswith(full + "."):
                raise ConfigError(f"sets {full!r}, which --set {first} already sets; give each field once",
                                  field=f"--set {item}")
        seen[full] = item
        try:
            set_path(doc, full, flag_value(raw))
        except ConfigError as e:
            raise ConfigError(e.detail, field=f"--set {item}") from None
    try:
        return path, scenario_from_dict(doc, str(path))
    except HetsimError as e:
        raise _blame_set(e, sets) from None


@contextmanager
def _collector_paused():
    """Run the block with Python's cyclic garbage collector off, then restore its state.

    Why: ``hetsim run`` spends most of its start-up importing modules and building pydantic
    models, hundreds of thousands of long-lived objects and almost no garbage, so every
    collection during that time scans them for nothing. The engine already pauses the
    collector while it simulates; this covers the imports, loading and writing around it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def cmd_run(args) -> int:
    from .report.plot_worker import TimelineWorker

    # the child is started first: it loads matplotlib while this process loads the simulator
    # and runs; it inherits the paused collector (it also pauses it itself)
    with _collector_paused(), TimelineWorker(enabled=not args.no_plot,
                                             exits_after=getattr(args, "own_process", False)) as worker:
        return _run(args, worker)


def _run(args, worker) -> int:
    from .simulation import run_scenario

    from .report.progress import progress

    path, scenario = _load(args.scenario, sets=args.set, mappings=[args.mapping],
                           mappings_flag="--mapping")
    outdir = prepare_outdir(args.out, files=RUN_FILES)
    tables: list[str] = []
    consoles = []

    def render_tables() -> None:  # while the plot worker draws; printed once the PNG is there
        if not args.json:  # rich is imported here, off the path to the trace the child waits for
            from .report.table import run_tables

            con = _console(False)
            with con.capture() as cap:
                run_tables(out.result, con)
            tables.append(cap.get())
            consoles.append(con)

    with progress("run", enabled=not args.json) as update:
        update(stage="simulating")
        with _sets_blamed(args.set):
            out = run_scenario(scenario, mapping=args.mapping, file=str(path), queue_policy=args.queue_policy)
        files = _write_run(out, outdir, f"{scenario.name} — {out.mapping.policy}",
                           plot=not args.no_plot, stage=update, worker=worker,
                           while_drawing=render_tables)
    if args.json:
        print(json.dumps(out.result, indent=2, sort_keys=True))
    else:
        sys.stdout.write(tables[0])
        consoles[0].print("wrote " + ", ".join(v for k, v in files.items() if k != "scenario"))
    return 0


def cmd_compare(args) -> int:
    from .metrics import compare
    from .costs.stacks import stack_names
    from .report.progress import progress
    from .report.table import compare_table
    from .simulation import check_mapping_name, gpu_stacks, run_scenario, split_policy

    check_mapping_name(args.baseline, field="--baseline")
    check_mapping_name(args.candidate, field="--candidate")
    path, scenario = _load(args.scenario, sets=args.set)
    outdir = prepare_outdir(args.out, files=("compare.json", "compare.png"))
    for role in ("baseline", "candidate"):
        prepare_outdir(outdir / role, files=RUN_FILES)
    runs = {}
    with _sets_blamed(args.set), progress("compare", enabled=not args.json) as update:
        for i, (role, policy) in enumerate((("baseline", args.baseline), ("candidate", args.candidate))):
            update(completed=i, total=2, stage=f"simulating {role} ({policy})")
            runs[role] = run_scenario(scenario, mapping=policy, file=str(path),
                                      queue_policy=args.queue_policy, mapping_flag=f"--{role}")
            _write_run(runs[role], outdir / role, f"{scenario.name} — {policy}", plot=not args.no_plot,
                       stage=lambda stage, role=role, **_: update(stage=f"{role}: {stage}"))
        update(completed=2, stage="comparing")
        cmp = compare(runs["baseline"].result, runs["candidate"].result)
        by_stack = {}
        if gpu_stacks(scenario) and not args.no_other_stacks:
            # the same comparison under every GPU software stack: which baseline is assumed decides it
            base_p, _ = split_policy(args.baseline)
            cand_p, _ = split_policy(args.candidate)
            for st in stack_names():
                update(stage=f"comparing under the {st} GPU stack")
                b = run_scenario(scenario, mapping=f"{base_p}@{st}", file=str(path),
                                 queue_policy=args.queue_policy, mapping_flag="--baseline").result
                c = run_scenario(scenario, mapping=f"{cand_p}@{st}", file=str(path),
                                 queue_policy=args.queue_policy, mapping_flag="--candidate").result
                by_stack[st] = {k: v for k, v in compare(b, c).items() if k in ("speedup", "energy_reduction")}
                by_stack[st].update(baseline_makespan_s=b["makespan_s"], candidate_makespan_s=c["makespan_s"])
            cmp["by_stack"] = by_stack
        (outdir / "compare.json").write_text(json.dumps(cmp, indent=2, sort_keys=True))
        if not args.no_plot:
            from .report.plots import plot_compare

            plot_compare(cmp, outdir / "compare.png", (args.baseline, args.candidate))
    if args.json:
        print(json.dumps(cmp, indent=2, sort_keys=True))
    else:
        con = _console(False)
        compare_table(cmp, con, (args.baseline, args.candidate))
        for role in ("baseline", "candidate"):
            st = cmp[role].get("gpu_stacks")
            if st:
                con.print(f"{role} GPU software stack: " + ", ".join(f"{k}={v}" for k, v in sorted(st.items())))
        if by_stack:
            from rich.table import Table

            from .metrics import ratio_text
            from .units import format_quantity as fq

            t = Table(title=f"{base_p} vs {cand_p} under each GPU software stack", title_justify="left")
            for col in ("stack", base_p, cand_p, "speed-up", "energy reduction"):
                t.add_column(col, justify="left" if col == "stack" else "right")
            for st, v in by_stack.items():
                t.add_row(st, fq(v["baseline_makespan_s"], "s"), fq(v["candidate_makespan_s"], "s"),
                          ratio_text(v["speedup"], "speedup"), ratio_text(v["energy_reduction"], "energy"))
            con.print(t)
        png = "" if args.no_plot else f", {outdir / 'compare.png'}"
        con.print(f"wrote {outdir / 'compare.json'}{png} and both runs' files")
    return 0


def cmd_map(args) -> int:
    from rich.table import Table

    from .mapping.search import objective_value
    from .report.progress import progress
    from .simulation import search_scenario
    from .units import format_quantity

    path, scenario = _load(args.scenario)
    outdir = prepare_outdir(args.out, files=("map.json", "pareto.png"))
    con = _console(args.json)
    with progress("searching mappings", enabled=not args.json) as update:
        res, named = search_scenario(
            scenario, args.objective, file=str(path), granularity=args.granularity,
            exhaustive_limit=args.exhaustive_limit, max_evaluations=args.max_evaluations,
            progress=lambda done, total: update(completed=done, total=total))
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
    from .sweep import check_axes, parse_axis, run_sweep

    if not args.set:
        raise ConfigError("a sweep needs at least one --set dotted.path=v1,v2,...")
    axes = [parse_axis(a) for a in args.set]
    given = args.mappings is not None
    mappings = [m.strip() for m in (args.mappings if given else SWEEP_MAPPINGS).split(",") if m.strip()]
    if not mappings:
        raise ConfigError("--mappings needs at least one policy name")
    check_axes(axes, mappings)
    resolved = _check_sweep(args.scenario, axes, mappings, mappings_given=given)
    out = prepare_outdir(args.out, files=("sweep.jsonl", "sweep.csv", "sweep.png"))
    with progress("sweep", enabled=not args.json) as update:
        res = run_sweep(args.scenario, axes, mappings, out, jobs=args.jobs,
                        use_dask=args.dask or bool(args.scheduler), scheduler=args.scheduler,
                        keep_failed=args.keep_failed, resolved=resolved,
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


def _check_sweep(scenario_arg, axes, mappings, *, mappings_given: bool = True) -> list:
    """Validate and resolve every sweep point before any run or progress bar.

    An error in a swept value names the ``--set`` flag that put it there, an unknown policy
    the ``--mappings`` flag, anything else the scenario file. A point whose data does not fit
    the system (:class:`CapacityError`) is a valid question with a negative answer: it is left
    to run and be reported as a failed point, not refused up front. Returns the resolved
    points (:func:`hetsim.sweep.resolve_points`), so the sweep does not validate them again.
    """
    from .catalog import read_yaml
    from .loader import resolve_scenario_path
    from .sweep import points, resolve_points

    path = resolve_scenario_path(scenario_arg)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError("a scenario must be a mapping", file=str(path))
    resolved = []
    for p in points(axes):
        try:
            resolved += resolve_points(doc, str(path), [p], mappings)
        except HetsimError as e:
            f = e.field or ""
            for k, v in p.items():
                if f == k or f.startswith(k + ".") or k.startswith(f + ".") or f == k.rsplit(".", 1)[0]:
                    raise ConfigError(e.detail, field=f"--set {k}={_shown(v)}") from None
            if e.file is None and not f.startswith("--"):
                raise ConfigError(e.detail, field="--set " + ", ".join(f"{k}={_shown(v)}" for k, v in p.items())) from None
            raise
    from .sweep import placement_error, unplaceable

    bad = unplaceable(resolved, mappings)
    if bad and not mappings_given and len(bad) < len(mappings):
        # the default list is ours, not the user's: run the policies this system can place
        # and say which were left out; refuse only when none can run
        keep = [m for m in mappings if m not in bad]
        print(f"hetsim: sweep: {', '.join(bad)} left out of the default --mappings "
              f"({SWEEP_MAPPINGS}): it cannot be placed at any point; running {', '.join(keep)}",
              file=sys.stderr)
        mappings[:] = keep
    elif bad:
        e = placement_error(bad, mappings, str(path))
        if not mappings_given:
            e = ConfigError(f"{e.detail}; --mappings defaults to {SWEEP_MAPPINGS}", field=e.field)
        raise e
    return resolved


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError("this command needs torch (the 'calibrate' extra): "
                          "pip install torch==2.13.0 && pip install 'hetsim[calibrate]'") from None


def _default_table(device: str) -> Path:
    return Path("out") / "calibration" / f"{device}.json"


#: flags naming a file, a directory or an address: given as empty text they were taken for
#: "not given" (``--against ''`` ran the pipeline validation) or for the current directory
_NOT_EMPTY = {"against": "--against", "table": "--table", "report": "--report",
              "from_hls_report": "--from-hls-report", "from_xrt_csv": "--from-xrt-csv",
              "device_file": "--device-file", "kernel": "--kernel", "update_readme": "--update-readme",
              "scheduler": "--scheduler", "stack": "--stack", "leave_one_out": "--leave-one-out",
              "only": "--only", "mappings": "--mappings", "device": "--device"}


def _refuse_empty(args) -> None:
    """Refuse a flag from :data:`_NOT_EMPTY` given as empty text (ConfigError naming it)."""
    for attr, flag in _NOT_EMPTY.items():
        v = getattr(args, attr, None)
        if isinstance(v, str) and not v.strip():
            raise ConfigError("is empty; give a value or leave the flag out", field=flag)


def _refuse_flags(args, flags: dict[str, str], why: str) -> None:
    """A command's mode ignores *flags* (attribute -> flag): refuse the first one given, naming it."""
    given = [flag for attr, flag in flags.items() if getattr(args, attr) not in (None, False)]
    if given:
        raise ConfigError(why, field=given[0])


def cmd_calibrate(args) -> int:
    ingest = args.from_hls_report is not None or args.from_xrt_csv is not None
    if ingest:
        _refuse_flags(args, {"kernels": "--kernels", "quick": "--quick", "threads": "--threads",
                             "repeats": "--repeats"},
                      "applies to timing kernels on this machine, not to --from-hls-report / --from-xrt-csv")
    else:
        _refuse_flags(args, {"kernel": "--kernel", "device_file": "--device-file"},
                      "applies only with --from-hls-report or --from-xrt-csv")
    if ingest:
        return _ingest(args)
    _require_torch()
    from rich.table import Table

    from calibration.grids import grid_kernels
    from calibration.harness import calibrate
    from calibration.validate import calibration_grids, pipeline_graphs

    from .costs.fitted import model_label

    kernels = args.kernels or grid_kernels()
    unknown = [k for k in kernels if k not in grid_kernels()]
    if unknown:  # else a KeyError traceback from the grid lookup
        raise ConfigError(f"no calibration grid for kernel(s) {', '.join(map(repr, unknown))}; known: "
                          f"{', '.join(sorted(grid_kernels()))}", field="--kernels")
    grids = calibration_grids(kernels, args.quick)  # + the validation pipelines' own shapes
    out = prepare_outfile(args.out if args.out is not None else _default_table(args.device))
    try:
        table = calibrate(args.device, kernels, quick=args.quick, out=out, progress=not args.json,
                          threads=args.threads, repeats=args.repeats, grids=grids,
                          pipelines=pipeline_graphs())
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
        t.add_row(k, model_label(v["fit"]), str(len(v["points"])), "-" if e is None else f"{100 * e:.1f}%")
    con.print(t)
    vals = sorted(e for e in errors.values() if e is not None)
    if vals:
        con.print(f"median held-out error {100 * vals[len(vals) // 2]:.1f}% "
                  f"({table['provenance'].get('elapsed_s', 0):.0f} s); wrote {out}")
    return 0


def _ingest(args) -> int:
    from .ingest.update import ingest_into_table

    con = _console(args.json)
    if args.out is not None:
        prepare_outfile(args.out)
    summary = ingest_into_table(hls_report=args.from_hls_report, xrt_csv=args.from_xrt_csv,
                                kernel=args.kernel, device_file=args.device_file, out=args.out)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        for line in summary.get("lines", []):
            con.print(line, markup=False)
    return 0


def cmd_validate_against(args) -> int:
    """``hetsim validate --against FILE.csv``: measured kernel times vs hetsim's predictions."""
    from rich.progress import Progress
    from rich.table import Table

    from .report import validation as V

    rows = V.read_measurements(args.against)
    prepare_outdir(args.out, files=("validation.csv", "validation.json", "validation.png"))
    if args.stack:
        from .costs.stacks import load_stack

        try:
            load_stack(args.stack)  # fail fast on an unknown stack
        except ConfigError as e:
            raise ConfigError(e.detail, file=e.file, field=e.field if e.file else "--stack") from None
        rows = [V.Measurement(**{**r.__dict__, "stack": args.stack}) for r in rows]
    if args.leave_one_out:
        if args.leave_one_out not in ("group", "label", "device"):
            raise ConfigError(f"must be a column: group, label or device, got {args.leave_one_out!r}",
                              field="--leave-one-out")
        groups = sorted({getattr(r, args.leave_one_out) for r in rows})
        with Progress(console=_console(args.json), transient=True) as prog:
            task = prog.add_task(f"refit without each {args.leave_one_out}", total=len(groups))
            pred, power, srcs = V.leave_one_out(rows, args.leave_one_out,
                                                detach_tables=args.detach_tables,
                                                progress=lambda g: prog.advance(task))
    else:
        pred, power, srcs = V.predict_rows(rows, detach_tables=args.detach_tables)
    summary = V.summarize(rows, pred, power)
    summary["options"] = {"against": str(args.against), "detach_tables": args.detach_tables,
                          "leave_one_out": args.leave_one_out, "stack": args.stack}
    files = V.write_outputs(rows, pred, power, srcs, summary, Path(args.out))
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    con = _console(False)
    t = Table(title=f"predicted vs measured ({len(rows)} calls; error = |pred - meas| / meas)",
              title_justify="left")
    for c in ("device", "kernel", "label", "n", "median", "p95", "worst", "mean signed"):
        t.add_column(c, justify="left" if c in ("device", "kernel", "label") else "right")
    for e in summary["per_kernel"]:
        t.add_row(e["device"], e["kernel"], e["label"] or "-", str(e["n"]),
                  f"{100 * e['median_abs_error']:.1f}%", f"{100 * e['p95_abs_error']:.1f}%",
                  f"{100 * e['max_abs_error']:.1f}%", f"{100 * e['mean_signed_error']:+.1f}%")
    con.print(t)
    if "median_abs_error_beyond_timer_step" in summary["overall"]:
        # beside the plain table, never instead of it: what the timer step cannot resolve
        t = Table(title="error beyond the timer step, max(0, |pred - meas| - resolution_s/2) "
                        "/ meas (rows without resolution_s: plain error)", title_justify="left")
        for c in ("kernel", "label", "median", "worst"):
            t.add_column(c, justify="left" if c in ("kernel", "label") else "right")
        for e in summary["per_kernel"]:
            t.add_row(e["kernel"], e["label"] or "-",
                      f"{100 * e['median_abs_error_beyond_timer_step']:.1f}%",
                      f"{100 * e['max_abs_error_beyond_timer_step']:.1f}%")
        con.print(t)
    o = summary["overall"]
    con.print(f"overall: median {100 * o['median_abs_error']:.1f}%, p95 {100 * o['p95_abs_error']:.1f}%, "
              f"worst {100 * o['max_abs_error']:.1f}%")
    if "median_abs_error_beyond_timer_step" in o:
        con.print(f"overall beyond the timer step: median "
                  f"{100 * o['median_abs_error_beyond_timer_step']:.1f}%, worst "
                  f"{100 * o['max_abs_error_beyond_timer_step']:.1f}%")
    if "power" in summary:
        con.print(f"power: median {100 * summary['power']['median_abs_error']:.1f}% over "
                  f"{summary['power']['n']} rows")
    con.print("wrote " + ", ".join(files.values()))
    return 0


#: validate's flags that belong to one mode only (``--against FILE`` or the pipeline rounds)
_AGAINST_ONLY = {"detach_tables": "--detach-tables", "leave_one_out": "--leave-one-out", "stack": "--stack"}
_ROUNDS_ONLY = {"device": "--device", "table": "--table", "rounds": "--rounds", "report": "--report"}


def cmd_validate(args) -> int:
    if args.against:
        _refuse_flags(args, _ROUNDS_ONLY, "applies to the pipeline validation, not to --against FILE")
    else:
        _refuse_flags(args, _AGAINST_ONLY, "applies only with --against FILE")
    args.device = args.device or "cpu"
    args.rounds = args.rounds or 10
    if args.against:
        return cmd_validate_against(args)
    _require_torch()
    from calibration.report import print_summary, write_report
    from calibration.rounds import validate_rounds

    table = Path(args.table) if args.table else _default_table(args.device)
    if not table.exists():
        raise ConfigError(f"no calibrated table at {table}; run 'hetsim calibrate --device {args.device} "
                          "--quick' first or pass --table", field="--table")
    from .costs.tables import read_table

    kt = read_table(table)  # a broken table is one error line before the progress bar, not after
    from calibration.validate import pipeline_shapes

    missing = sorted(k for k in pipeline_shapes() if not kt.has(k))
    if missing:  # else "device 'cpu' cannot run kernel ..." after the bar, naming no file
        raise ConfigError(f"no fit for {', '.join(missing)}, which the validation pipelines run; "
                          f"calibrate them first (hetsim calibrate --device {args.device})",
                          file=str(table), field="kernels")
    outdir = prepare_outdir(args.out, files=("validate.json",))
    if args.report:
        prepare_outdir(args.report, flag="--report")
    bar = None
    if not args.json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]validate[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=_rich_console(stderr=True))
        bar.start()
        task = bar.add_task("", total=None)
    try:
        report = validate_rounds(table, args.device, rounds=args.rounds, on_round=None if bar is None else (
            lambda name, r: bar.update(task, advance=1, description=f"{name} round {r + 1}/{args.rounds}")))
    finally:
        if bar is not None:
            bar.stop()
    (outdir / "validate.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    page = None if args.no_plot and not args.report else write_report(report, table, args.report or outdir)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    con = _console(False)
    print_summary(report, con)
    if report["median_kernel_heldout_error"] is not None:
        con.print(f"median held-out error over kernels: {100 * report['median_kernel_heldout_error']:.1f}%")
    con.print(f"wrote {outdir / 'validate.json'}" + ("" if page is None else f", {page}"))
    return 0


def cmd_fpga(args) -> int:
    from .fpga_cli import cmd_fpga as explore_cmd

    prepare_outdir(args.out, files=("explore.json", "explore.png"))
    return explore_cmd(args)


def cmd_devices(args) -> int:
    from . import devices_cli

    con = _console(getattr(args, "json", False))
    if args.action in (None, "list"):
        if args.name:
            raise ConfigError(f"'hetsim devices list' takes no name, got {args.name!r}; use "
                              "'hetsim devices show NAME' or 'hetsim devices check FILE...'")
        return devices_cli.list_presets(con, as_json=args.json)
    if args.action == "show":
        if not args.name:
            raise ConfigError("'hetsim devices show' needs a preset name (see 'hetsim devices')")
        if args.files:
            raise ConfigError(f"'hetsim devices show' takes one preset name, got {args.name!r} "
                              f"and {', '.join(map(repr, args.files))}")
        return devices_cli.show(args.name, con, as_json=args.json)
    return devices_cli.check(con, [Path(p) for p in args.files], as_json=args.json)


def _builtin_scenarios_by_workload() -> dict[str, list[str]]:
    """workload name -> built-in scenarios that run it (read from the files, not validated)."""
    from . import catalog

    out: dict[str, list[str]] = {}
    for path in sorted(catalog.scenario_dir().glob("*.yaml")):
        try:
            wl = (catalog.read_yaml(path) or {}).get("workload", {}).get("name")
        except (ConfigError, AttributeError):
            continue
        if wl:
            out.setdefault(wl, []).append(path.stem)
    return out


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
    t.add_column("built-in scenarios")
    t.add_column("parameters (default)")
    by_workload = _builtin_scenarios_by_workload()
    for name, wl in reg:
        params = ", ".join(f"{k}={f.get_default(call_default_factory=True)!r}" if not f.is_required() else k
                           for k, f in wl.params.model_fields.items())
        t.add_row(name, wl.description, ", ".join(by_workload.get(name, [])), params)
    con.print(t)
    return 0


# ---- hetsim reproduce (issue 13) ------------------------------------------------------------
def cmd_reproduce(args) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .report.reproduce import write_report
    from .reproduce import representative_traces, reproduce, strip_runs

    from .sweep import parse_axis

    extra = {}
    for text in args.set:
        ax = parse_axis(text)
        if len(ax.values) != 1:
            raise ConfigError(f"--set {text!r} takes one value", field="--set")
        if ax.path in extra:  # the last would silently win
            raise ConfigError(f"{ax.path!r} is set twice", field=f"--set {text}")
        extra[ax.path] = ax.values[0]
    out = prepare_outdir(args.out, files=("reproduce.json", "summary.md", "report.md"))
    if args.update_readme:  # checked before minutes of simulation, not after
        from .inputs import read_text
        from .report.reproduce_summary import replace_summary

        replace_summary(read_text(args.update_readme), "", file=str(args.update_readme))
    with Progress(SpinnerColumn(), TextColumn("reproduce: {task.completed} simulations, {task.description}"),
                  TimeElapsedColumn(), console=_rich_console(stderr=True), disable=args.json,
                  transient=True) as bar:
        task = bar.add_task("starting", total=None)
        data = reproduce(only=args.only, whatif=args.whatif, extra=extra,
                         on_run=lambda label: bar.update(task, advance=1, description=label))
    out.mkdir(parents=True, exist_ok=True)
    clean = strip_runs(data)
    (out / "reproduce.json").write_text(json.dumps(clean, indent=2, sort_keys=True))
    cmd = "hetsim reproduce" + (f" --only {args.only}" if args.only else "") + (" --whatif" if args.whatif else "") + "".join(f" --set {t}" for t in args.set)
    from .report.reproduce_summary import summary_table_md

    (out / "summary.md").write_text(summary_table_md(clean))
    if not args.no_plot:
        write_report(data, out, representative_traces(data), command=cmd)
    if args.update_readme:
        from .report.reproduce_summary import replace_summary

        path = Path(args.update_readme)
        path.write_text(replace_summary(path.read_text(), summary_table_md(clean), file=str(path)))
    if args.json:
        print(json.dumps(clean, indent=2, sort_keys=True))
        return 0
    from .report.reproduce import print_summary

    print_summary(clean, _console(False))
    files = [out / "reproduce.json", out / "summary.md"] + ([] if args.no_plot else [out / "report.md"])
    files += [Path(args.update_readme)] if args.update_readme else []
    _console(False).print("wrote " + ", ".join(str(f) for f in files))
    return 0


def add_reproduce_parser(sub) -> None:
    rp = sub.add_parser("reproduce", help="the study's GPU vs GPU+FPGA comparison, as the study ran it "
                        "and tuned, with an attribution ladder and a report")
    rp.add_argument("--only", default=None, metavar="FAMILY", help="one family (e.g. dsa, rag_bm25)")
    rp.add_argument("--whatif", action="store_true", help="also run scenarios/whatif/ and report them")
    rp.add_argument("--out", default="out/reproduce", help="where report.md, figures/ and reproduce.json go")
    rp.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a field in every scenario where it exists (e.g. "
                         "workload.params.num_layers=4 for a quick run); repeatable")
    rp.add_argument("--no-plot", action="store_true", help="skip the figures and report.md")
    rp.add_argument("--json", action="store_true", help="print the report data as JSON")
    rp.add_argument("--update-readme", default=None, metavar="FILE",
                    help="rewrite the summary table between the reproduce-summary markers of FILE "
                         "(the README's 'Reproducing the study' section) with this run's numbers")
    rp.set_defaults(func=cmd_reproduce)
# ---- end hetsim reproduce ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hetsim", description="Discrete-event simulator of "
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
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field before the run: a workload parameter by name "
                             "(model=qwen3-14b, context_len=131072, batch=4, phase=prefill, "
                             "steps=16) or a dotted scenario path (repeatable)")

    r = sub.add_parser("run", help="simulate a scenario and write result.json, trace.json, timeline.png")
    common(r)
    r.add_argument("--mapping", default=None, help="mapping policy (default: the scenario's)")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="run two mappings of one scenario; speed-up and energy reduction")
    common(c)
    c.add_argument("--baseline", default="gpu-only",
                   help="baseline mapping, optionally @GPU-stack (e.g. gpu-only@tuned; default: gpu-only)")
    c.add_argument("--candidate", default="hetero", help="candidate mapping[@stack] (default: hetero)")
    c.add_argument("--no-other-stacks", action="store_true",
                   help="skip the comparison under every GPU software stack")
    c.set_defaults(func=cmd_compare)

    mp = sub.add_parser("map", help="search the best mappings (latency, energy or EDP) and the Pareto front")
    mp.add_argument("scenario", nargs="?", default=None, help="scenario file or built-in name")
    mp.add_argument("--objective", choices=("latency", "energy", "edp"), default="latency")
    mp.add_argument("--granularity", choices=("auto", "task", "group"), default="auto",
                    help="free tasks one variable each (task) or per step and kernel (group)")
    search_cap = _int_at_least(1, MAX_SEARCH_EVALUATIONS, " (each is a simulation)")
    mp.add_argument("--exhaustive-limit", type=search_cap, default=512,
                    help="enumerate spaces up to this size, branch and bound above (default 512)")
    mp.add_argument("--max-evaluations", type=search_cap, default=2000,
                    help="cap on simulations in branch and bound (default 2000)")
    mp.add_argument("--top", type=_int_at_least(1), default=5, help="how many best mappings to list")
    mp.add_argument("--out", default="out", help="output directory (default: out)")
    mp.add_argument("--json", action="store_true")
    mp.add_argument("--no-plot", action="store_true", help="skip pareto.png")
    mp.set_defaults(func=cmd_map)

    sw = sub.add_parser("sweep", help="run a scenario over a grid of parameters and mappings (resumable)")
    sw.add_argument("scenario", nargs="?", default=None, help="scenario file or built-in name")
    sw.add_argument("--set", action="append", default=[], metavar="PATH=V1,V2",
                    help="a swept field, e.g. workload.params.context_len=4096,16384; a key without "
                         "a dot is a workload parameter (context_len=4096,16384); repeatable")
    sw.add_argument("--mappings", default=None, help=f"comma-separated policies (default {SWEEP_MAPPINGS})")
    sw.add_argument("--jobs", type=_int_at_least(1, MAX_JOBS, " worker processes"), default=1,
                    help="worker processes (default 1)")
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
    ca.add_argument("--quick", action="store_true", help="reduced grids: about 5 minutes on 2 cores")
    ca.add_argument("--out", default=None, help="table file (default out/calibration/DEVICE.json)")
    ca.add_argument("--threads", type=_int_at_least(1), default=None, help="torch threads (default: all)")
    ca.add_argument("--repeats", type=_int_at_least(1), default=None, help="interleaved rounds per shape")
    ca.add_argument("--from-hls-report", default=None, metavar="CSYNTH_XML",
                    help="ingest a Vitis HLS csynth.xml (or its solution / HLS component directory) "
                    "into the FPGA table")
    ca.add_argument("--from-xrt-csv", default=None, metavar="CSV",
                    help="ingest timings written by hls/host into the FPGA table")
    ca.add_argument("--kernel", default=None, help="(ingest) which FPGA kernel the report is for")
    ca.add_argument("--device-file", default=None, help="(ingest) FPGA device file to update "
                    "(default: the u55c preset)")
    ca.add_argument("--json", action="store_true")
    ca.set_defaults(func=cmd_calibrate)

    va = sub.add_parser("validate", help="per-kernel held-out error and end-to-end measured vs "
                        "simulated pipelines on this machine, or (--against) measured kernel "
                        "times from a CSV vs hetsim's predictions")
    va.add_argument("--against", default=None, metavar="FILE.csv",
                    help="measured calls: device,kernel,shape,time_s"
                         "[,power_w,group,label,stack,resolution_s]")
    va.add_argument("--detach-tables", action="store_true",
                    help="(--against) ignore the devices' measured tables: check the model")
    va.add_argument("--leave-one-out", default=None, metavar="COLUMN",
                    help="(--against) refit the GEMM tile model without each value of COLUMN "
                         "(group, label or device) and predict its rows")
    va.add_argument("--stack", default=None, help="(--against) GPU software stack for every row")
    va.add_argument("--device", choices=("cpu", "cuda", "rocm"), default=None, help="(default cpu)")
    va.add_argument("--table", default=None, help="calibrated table (default out/calibration/DEVICE.json)")
    va.add_argument("--rounds", type=_int_at_least(1), default=None, help="interleaved rounds (pipeline "
                    "passes + same-round kernel re-measurement) per pipeline (default 10); >= 10 for a "
                    "95%% interval")
    va.add_argument("--report", default=None, metavar="DIR",
                    help="where the Markdown fidelity report and its plots go (default: --out)")
    va.add_argument("--out", default="out/validate", help="where validate.json and validate.png go")
    va.add_argument("--json", action="store_true")
    va.add_argument("--no-plot", action="store_true",
                    help="skip the fidelity report and its plots (unless --report names a directory)")
    va.set_defaults(func=cmd_validate)

    d = sub.add_parser("devices", help="list, show or check device and link presets")
    d.add_argument("action", nargs="?", choices=("list", "show", "check"), default="list")
    d.add_argument("name", nargs="?", help="preset name (for show)")
    d.add_argument("files", nargs="*", help="(check) extra files to check besides the presets")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_devices)

    fp = sub.add_parser("fpga", help="FPGA design-space exploration: ports, units, lanes, element type")
    fp.add_argument("action", choices=("explore",))
    fp.add_argument("design", help="design name (hetsim.fpga_kernels, e.g. study_dsa_vanilla)")
    fp.add_argument("--device", default="u55c", help="FPGA device preset (u55c, v80, hbm3-fpga)")
    fp.add_argument("--shape", action="append", default=[], metavar="KEY=N", help="override the call shape")
    fp.add_argument("--set", action="append", default=[], metavar="PARAM=V1,V2",
                    help="sweep a design parameter over these values (repeatable)")
    fp.add_argument("--top", type=_int_at_least(1), default=15, help="rows to print (default 15)")
    fp.add_argument("--out", default="out/fpga-explore", help="where explore.json and explore.png go")
    fp.add_argument("--json", action="store_true")
    fp.set_defaults(func=cmd_fpga)

    w = sub.add_parser("workloads", help="list workloads and their parameters")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_workloads)
    add_reproduce_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hetsim`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a bad flag already reported on one line
        return e.code if isinstance(e.code, int) else EXIT_USER_ERROR
    if args.command == "devices" and args.action == "check" and args.name:
        args.files = [args.name, *args.files]
    args.own_process = argv is None  # the process's own command line: it exits after this
    try:
        _refuse_empty(args)
        with _input_warnings_on_one_line():
            return args.func(args)
    except HetsimError as e:
        print(f"hetsim: error: {one_line(str(e))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:  # pragma: no cover
        print("hetsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (hetsim ... --json | head): not an error of ours
        _silence_stdout()
        return 141  # what a shell reports for a process ended by SIGPIPE
    finally:
        if argv is None:  # this process's own command line: it exits next
            _freeze_for_exit()


@contextmanager
def _input_warnings_on_one_line():
    """Print each distinct :class:`InputWarning` once, as ``hetsim: warning: ...`` on stderr,
    when the command ends without an error.

    Why: a knob with no effect is said, not refused (a sweep may switch it on at other
    points), and a sweep checks every point: one line per distinct warning, not per point.
    A command that fails prints only its one error line. Other warnings keep Python's handling.
    """
    shown: dict[str, None] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not isinstance(message, InputWarning):
                return default(message, category, filename, lineno, file, line)
            shown[f"hetsim: warning: {one_line(str(message))}"] = None

        warnings.showwarning = show
        yield
    for text in shown:  # reached only when the command raised nothing
        print(text, file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of a closed pipe is silent
    (else "Exception ignored ... BrokenPipeError" after the command ended)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's captured stdout)
        pass


def _freeze_for_exit() -> None:
    """Move every object to the collector's permanent generation before the process exits.

    Why: at exit the interpreter tears its modules down and runs the cyclic collector over
    everything still alive (all of pydantic, networkx, rich and the run's graph and trace);
    frozen objects are skipped. That cost was about a tenth of a default ``hetsim run``. Only
    done when :func:`main` runs the process's own command line (``argv`` is None: the console
    script and ``python -m hetsim.cli``), never for a caller that keeps running (tests, the
    benchmarks), whose later garbage must still be collected.
    """
    gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
