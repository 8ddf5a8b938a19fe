"""The ``hetsim reproduce`` report: figures and a Markdown file readable on its own.

Input is the plain data :func:`hetsim.reproduce.reproduce` returns (numbers and names) plus,
for the timelines, the traces of one representative run per family; nothing is recomputed
here, so the report shows exactly what the runs produced.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, NullFormatter  # noqa: E402

from ..graph import STEP_NAMES  # noqa: E402
from ..units import format_quantity  # noqa: E402
from .plots import STEP_COLORS, plot_timeline  # noqa: E402
from .reproduce_summary import _fmt_x, _pct, _rows, responsible_text, summary_table_md  # noqa: E402

CFG_COLORS = {"as-the-study": "#f28e2b", "tuned": "#4e79a7"}


def _t(v) -> str:
    return "-" if v is None else format_quantity(v, "s")


def plot_bars(data: dict, path: Path) -> Path | None:
    """Speed-up and energy reduction per family and GPU, as-the-study vs tuned, study range shaded."""
    rows = list(_rows(data))
    if not rows:
        return None
    labels = [f"{f['key']}\n{g['gpu']}" for f, g in rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 2.2 * len(rows) + 4), 4.2))
    for ax, key, rk, title in ((axes[0], "speedup", "speedup", "speed-up (GPU-only / hetero)"),
                               (axes[1], "energy_reduction", "energy_reduction", "energy reduction")):
        lo, hi = data["ranges"][rk]["low"], data["ranges"][rk]["high"]
        ax.axhspan(lo, hi, color="#59a14f", alpha=0.15, label=f"study's range {lo}-{hi}x")
        ax.axhline(1.0, color="black", linewidth=0.6)
        w = 0.38
        for j, cfg in enumerate(("as_the_study", "tuned")):
            name = "as-the-study" if cfg == "as_the_study" else "tuned"
            vals = [g[cfg].get(key) or 0.0 for _, g in rows]
            xs = [i + (j - 0.5) * w for i in range(len(rows))]
            bars = ax.bar(xs, vals, w, color=CFG_COLORS[name], label=name)
            for b, v in zip(bars, vals):
                ax.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title)
        ax.set_yscale("log")
        ax.set_yticks([0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5])
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2gx"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_breakdown(fam: dict, g: dict, path: Path) -> Path:
    """Critical-path time per pipeline step: GPU-only and hetero, as-the-study and tuned."""
    cols = []
    for cfg, name in (("as_the_study", "as-the-study"), ("tuned", "tuned")):
        c = g[cfg]
        if "error" in c:
            continue
        cols.append((f"{name}\nGPU-only", c["gpu_only_steps"]))
        cols.append((f"{name}\nhetero", c["hetero_steps"]))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    top = max((sum(s.values()) for _, s in cols), default=1.0) or 1.0
    f, unit = (1e3, "ms") if top < 1 else (1.0, "s")
    bottoms = [0.0] * len(cols)
    for step in STEP_NAMES:
        vals = [s.get(step, 0.0) * f for _, s in cols]
        ax.bar([c[0] for c in cols], vals, bottom=bottoms, color=STEP_COLORS[step], label=step)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    ax.set_ylabel(f"critical-path time ({unit})")
    n = g.get("fpgas", 1)
    ax.set_title(f"{fam['key']} on {g['gpu']} + {'' if n == 1 else f'{n} x '}U55C: where the time goes", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_waterfall(fam: dict, g: dict, path: Path) -> Path:
    """Speed-up after each ladder step: a bar from the previous value to the new one."""
    rungs = [r for r in g["ladder"] if r.get("speedup")]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rungs) + 2), 4))
    prev = None
    lo, hi = 1.04, 2.2
    for i, r in enumerate(rungs):
        v = r["speedup"]
        if prev is None:
            ax.bar(i, v, color=CFG_COLORS["as-the-study"])
        else:
            color = "#59a14f" if v >= prev else "#e15759"
            ax.bar(i, v - prev, bottom=prev, color=color)
            ax.plot([i - 1.4, i - 0.6], [prev, prev], color="grey", linewidth=0.6)
        ax.annotate(f"{v:.2f}x", (i, v), ha="center", va="bottom", fontsize=8)
        prev = v
    ax.bar(len(rungs), prev or 0.0, color=CFG_COLORS["tuned"])
    ax.annotate(f"{(prev or 0):.2f}x", (len(rungs), prev or 0), ha="center", va="bottom", fontsize=8)
    ax.axhspan(lo, hi, color="#59a14f", alpha=0.12, label="study's range")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(rungs) + 1))
    ax.set_xticklabels([r["step"] for r in rungs] + ["= tuned"], rotation=20, fontsize=8)
    ax.set_ylabel("speed-up (x)")
    ax.set_title(f"attribution ladder: {fam['key']} on {g['gpu']}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_whatifs(rows: list[dict], path: Path) -> Path | None:
    ok = [r for r in rows if "error" not in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(rows) + 3), 4))
    ax.bar([r["label"] for r in rows], [r.get("speedup") or 0.0 for r in rows],
           color=["#4e79a7" if "error" not in r else "#bbbbbb" for r in rows])
    for i, r in enumerate(rows):
        ax.annotate("n/a" if "error" in r else f"{r['speedup']:.2f}x", (i, r.get("speedup") or 0.0),
                    ha="center", va="bottom", fontsize=7)
    ax.axhspan(1.04, 2.2, color="#59a14f", alpha=0.12, label="study's range")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_ylabel("speed-up of hetero over GPU-only (x)")
    ax.set_title(f"what-if scenarios ({len(ok)} ran, {len(rows) - len(ok)} could not)", fontsize=10)
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", fontsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def _verdict_word(v: str) -> str:
    return {"within": "in range", "below": "**below**", "above": "**above**"}.get(v, v)


def _ovr(o: dict) -> str:
    mark = {"applied": "", "unavailable": " *(unavailable in this build)*", "invalid": " *(invalid)*"}
    return f"`{o['path']}={o['value']}`{mark.get(o['status'], '')}"


def write_report(data: dict, outdir: Path, timelines: dict[str, tuple] | None = None,
                 command: str = "hetsim reproduce") -> Path:
    """Write ``report.md`` and its figures into *outdir*; return the report path.

    *timelines* maps a family key to ``(trace, title)`` of its representative run.
    """
    outdir = Path(outdir)
    fig_dir = outdir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    r = data["ranges"]
    L: list[str] = []
    L.append("# hetsim reproduce: the study's GPU + FPGA comparison\n")
    L.append(f"Regenerate with `{command}`. Every number below is a simulation by hetsim of the "
             "scenario files under `scenarios/paper/` (what-ifs: `scenarios/whatif/`); none is "
             "fitted to the study.\n")
    L.append("**The study's claim.** Long-context LLM inference spends "
             f"{100 * r['memory_processing_fraction']['low']:.0f}-{100 * r['memory_processing_fraction']['high']:.0f}% "
             "of its time in *memory processing* (Prepare Memory, Compute Relevancy, Retrieval and "
             "their data movement). Moving the sparse, memory-bound steps to an FPGA with its own "
             "HBM (one AMD MI210 GPU + one Alveo U55C FPGA) makes inference "
             f"{r['speedup']['low']}-{r['speedup']['high']}x faster and needs "
             f"{r['energy_reduction']['low']}-{r['energy_reduction']['high']}x less energy than the GPU "
             "alone; similar on an A100.\n")
    L.append("**How to read this.** For each optimization family hetsim runs two configurations on "
             "MI210 + U55C and on A100 + U55C: *as-the-study* (the study's GPU software stack, FPGA "
             "design, serial latency model, free transfer of the index, raw link fit, as far as this "
             "build can express them) and *tuned* (hetsim's own designs and models, every transfer "
             "charged, a concurrent schedule). Each is simulated on the GPU alone and with the "
             "study's heterogeneous placement (relevancy and retrieval on the FPGA, the rest on the "
             "GPU). The *attribution ladder* then switches one assumption at a time from the first "
             "configuration to the second, so any gap between hetsim and the study is explained "
             "step by step.\n")
    L.append("**Which step is responsible.** Where as-the-study lands outside the study's range, the "
             "report names the ladder step whose switch changes the speed-up most (the largest "
             "|log factor|; a step that changes it by less than 1% is not counted), says whether that "
             "move goes *toward* the study's range or *away* from it, and what share of the distance "
             "from as-the-study to the nearest end of the range it covers (+100% = that step alone "
             "closes the gap, a negative share means it widens it). If no step moves the speed-up by 1%, no "
             "assumption the ladder switches explains the gap: it lies in what both configurations "
             "share (the workload's shapes and the device models), and the report names the pipeline "
             "step whose critical-path time differs most between the hetero run and the GPU alone. "
             "The same rule is applied to the energy reduction.\n")
    if data.get("extra_overrides"):
        L.append("**Changed for this run** (`--set`, applied to every scenario where the field exists): "
                 + ", ".join(f"`{k}={v}`" for k, v in data["extra_overrides"].items()) + ".\n")
    # ---- summary table
    L.append("## Summary\n")
    L.append("Speed-up and energy reduction of hetero (GPU + U55C) over the GPU alone, as-the-study / "
             "tuned; memory processing = share of the GPU-only run (as-the-study); the verdict and "
             "the responsible step are for as-the-study.\n")
    L.append(summary_table_md(data))
    L.append("### Every run\n")
    L.append("| family | GPU | config | GPU-only | hetero | speed-up | energy reduction | memory processing (GPU-only) | verdict (speed-up / energy / memory) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for fam in data["families"]:
        if not fam["available"]:
            L.append(f"| {fam['key']} | - | - | - | - | - | - | - | {fam['reason']} |")
            continue
        for g in fam["gpus"]:
            for cfg, name in (("as_the_study", "as-the-study"), ("tuned", "tuned")):
                c = g[cfg]
                if "error" in c:
                    L.append(f"| {fam['key']} | {g['gpu']} | {name} | - | - | - | - | - | could not run: {c['error']} |")
                    continue
                v = g["verdict"][cfg]
                L.append(f"| {fam['key']} | {g['gpu']} | {name} | {_t(c['gpu_only_s'])} | {_t(c['hetero_s'])} | "
                         f"{_fmt_x(c['speedup'])} | {_fmt_x(c['energy_reduction'])} | "
                         f"{_pct(c['memory_processing_fraction'])} | "
                         f"{_verdict_word(v['speedup'])} / {_verdict_word(v['energy_reduction'])} / "
                         f"{_verdict_word(v['memory_processing_fraction'])} |")
    L.append("")
    L.append(f"Study's ranges: speed-up {r['speedup']['low']}-{r['speedup']['high']}x, energy "
             f"{r['energy_reduction']['low']}-{r['energy_reduction']['high']}x, memory processing "
             f"{100 * r['memory_processing_fraction']['low']:.0f}-{100 * r['memory_processing_fraction']['high']:.0f}% "
             f"({r['speedup']['source']}).\n")
    bars = plot_bars(data, fig_dir / "speedup_energy.png")
    if bars:
        L.append("![speed-up and energy per family and GPU](figures/speedup_energy.png)\n")
    missing = [f for f in data["families"] if not f["available"]]
    if missing:
        L.append("**Not available in this build** (listed so nothing is silently left out; "
                 "`scenarios/paper/families.yaml` says what each needs):\n")
        for f in missing:
            L.append(f"- **{f['title']}** (`{f['key']}`): {f['reason']}")
            for s in f.get("study_settings", []):
                L.append(f"  - the study's setting to use: {s}")
        L.append("")
    # ---- per family
    for fam in data["families"]:
        if not fam["available"]:
            continue
        L.append(f"## {fam['title']} (`{fam['key']}`)\n")
        for n in fam.get("notes", []):
            L.append(f"*Note:* {n}\n")
        for g in fam["gpus"]:
            n = g.get("fpgas", 1)
            L.append(f"### {g['gpu']} + {'' if n == 1 else f'{n} x '}U55C\n")
            L.append(f"Scenario files: `scenarios/paper/{g['study_file']}` (as-the-study) and "
                     f"`scenarios/paper/{g['tuned_file']}` (tuned).\n")
            unavailable = [o for o in g["study_overrides"] if o["status"] != "applied"]
            if unavailable:
                L.append("Study knobs this build cannot express yet (skipped): "
                         + ", ".join(_ovr(o) for o in unavailable) + ".\n")
            L.append("| ladder step | assumption switched | overrides | GPU-only | hetero | speed-up | move | energy reduction |")
            L.append("|---|---|---|---|---|---|---|---|")
            prev = None
            for rg in g["ladder"]:
                ovr = "; ".join(_ovr(o) for o in rg["overrides"]) or "-"
                if "error" in rg:
                    L.append(f"| {rg['step']} | {rg['assumption']} | {ovr} | - | - | error: {rg['error']} | - | - |")
                    continue
                move = "-" if prev is None or not prev else f"x{rg['speedup'] / prev:.3f}"
                L.append(f"| {rg['step']} | {rg['assumption']} | {ovr} | {_t(rg['gpu_only_s'])} | "
                         f"{_t(rg['hetero_s'])} | {_fmt_x(rg['speedup'])} | {move} | {_fmt_x(rg['energy_reduction'])} |")
                prev = rg["speedup"]
            L.append("")
            if not g["ladder_reaches_tuned"]:
                L.append(f"*Warning:* after the last step the scenario differs from the tuned file in "
                         f"{', '.join(g['ladder_mismatch'][:6])}; the ladder does not fully explain the gap.\n")
            else:
                L.append("After the last step the scenario equals the tuned file (checked), so the "
                         "steps account for the whole difference between the two configurations.\n")
            gap = g.get("widest_gap")
            for key, label in (("responsible_step", "speed-up"), ("responsible_step_energy", "energy reduction")):
                rs = g.get(key)
                if not rs:
                    continue
                lo, hi = rs["range"]
                if rs["verdict"] == "within":
                    L.append(f"As-the-study's {label} ({_fmt_x(rs['value'])}) is within the study's range "
                             f"{lo}-{hi}x; nothing to attribute.\n")
                    continue
                lad = rs.get("ladder_factor")
                L.append(f"As-the-study's {label} ({_fmt_x(rs['value'])}) lands **{rs['verdict']}** the study's "
                         f"range {lo}-{hi}x. Responsible ladder step: {responsible_text(rs, gap)}. "
                         + (f"The whole ladder moves it x{lad:.3f}, to {_fmt_x(rs['value'] * lad)} tuned "
                            f"({rs['tuned_verdict']} the range)" if lad else "")
                         + (". What no step closes lies in what both configurations share (the workload's "
                            "shapes and the device models)." if rs["tuned_verdict"] != "within" else ".") + "\n")
            if gap:
                L.append(f"Where the time goes as the study ran it: hetero spends {_t(gap['hetero_s'])} on the "
                         f"critical path in **{gap['step']}** against {_t(gap['gpu_only_s'])} on the GPU alone, "
                         "the largest per-step difference between the two runs.\n")
            wf = plot_waterfall(fam, g, fig_dir / f"ladder_{fam['key']}_{g['gpu']}.png")
            bd = plot_breakdown(fam, g, fig_dir / f"breakdown_{fam['key']}_{g['gpu']}.png")
            L.append(f"![ladder]({wf.relative_to(outdir)}) ![breakdown]({bd.relative_to(outdir)})\n")
        if timelines and fam["key"] in timelines:
            trace, title = timelines[fam["key"]]
            p = plot_timeline(trace, fig_dir / f"timeline_{fam['key']}.png", title=title)
            L.append(f"Timeline of one representative run ({title}): each row is an engine or a "
                     "link direction, colours are pipeline steps.\n")
            L.append(f"![timeline]({p.relative_to(outdir)})\n")
    # ---- what-ifs
    if "whatifs" in data:
        L.append("## What-if scenarios\n")
        L.append("Each what-if changes the tuned DSA setup on MI210 + U55C (unless it says otherwise) "
                 "in one way; GPU-only and hetero are simulated as above.\n")
        L.append("| what-if | question | GPU-only | hetero | speed-up | energy reduction | memory processing | note |")
        L.append("|---|---|---|---|---|---|---|---|")
        for w in data["whatifs"]:
            if "error" in w:
                L.append(f"| {w['label']} | {w['question']} | - | - | - | - | - | could not run: {w['error']} |")
            else:
                L.append(f"| {w['label']} | {w['question']} | {_t(w['gpu_only_s'])} | {_t(w['hetero_s'])} | "
                         f"{_fmt_x(w['speedup'])} | {_fmt_x(w['energy_reduction'])} | "
                         f"{_pct(w['memory_processing_fraction'])} | {w.get('note', '')} |")
        L.append("")
        p = plot_whatifs(data["whatifs"], fig_dir / "whatifs.png")
        if p:
            L.append("![what-ifs](figures/whatifs.png)\n")
    L.append(f"---\n{data.get('simulations', 0)} distinct simulations.\n")
    out = outdir / "report.md"
    out.write_text("\n".join(L))
    return out


def print_summary(data: dict, console) -> None:
    """Terminal summary: one row per family, GPU and configuration, then the ladders."""
    from rich.table import Table

    short = {"within": "ok", "below": "lo", "above": "hi"}
    from rich import box

    t = Table(title="hetsim reproduce: hetero (GPU + U55C) vs GPU-only", title_justify="left",
              box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)
    for c in ("family", "GPU", "config", "GPU-only", "hetero", "speed-up", "energy", "mem.", "vs study"):
        t.add_column(c, justify="left" if c in ("family", "GPU", "config", "vs study") else "right",
                     no_wrap=True)
    for fam in data["families"]:
        for g in fam.get("gpus", []):
            for cfg, name in (("as_the_study", "study"), ("tuned", "tuned")):
                c = g[cfg]
                if "error" in c:
                    t.add_row(fam["key"], g["gpu"], name, "", "", "", "", "", "[red]error[/]")
                    continue
                v = g["verdict"][cfg]
                t.add_row(fam["key"], g["gpu"], name, _t(c["gpu_only_s"]), _t(c["hetero_s"]),
                          _fmt_x(c["speedup"]), _fmt_x(c["energy_reduction"]),
                          _pct(c["memory_processing_fraction"]),
                          " ".join(short.get(v[k], v[k]) for k in ("speedup", "energy_reduction",
                                                                    "memory_processing_fraction")))
    if t.row_count:
        console.print(t, width=max(console.width, 110))  # piped output is 80 wide: keep every column whole
        console.print("energy = energy reduction; mem. = memory-processing share of the GPU-only run; "
                      "vs study = speed-up, energy, mem. against the study's ranges (ok inside, lo/hi outside)")
    for fam in data["families"]:
        if not fam["available"]:
            console.print(f"[yellow]{fam['key']}[/]: {fam['reason']}")
    for fam, g in _rows(data):
        for c in ("as_the_study", "tuned"):
            if "error" in g[c]:
                console.print(f"[red]{fam['key']}/{g['gpu']} {c}[/]: {g[c]['error']}")
        steps = " -> ".join(f"{r['step']} {_fmt_x(r.get('speedup'))}" for r in g["ladder"])
        console.print(f"[bold]{fam['key']}/{g['gpu']}[/] ladder: {steps}; responsible (speed-up): "
                      + responsible_text(g.get("responsible_step"), g.get("widest_gap")).replace("**", ""))
    bad = {(o["path"], o["status"]) for _, g in _rows(data) for o in g.get("extra_overrides", [])
           if o["status"] != "applied"}
    for path, status in sorted(bad):
        console.print(f"[yellow]warning:[/] --set {path}: {status} in some scenarios (skipped there)")
    for w in data.get("whatifs", []):
        console.print(f"what-if {w['label']}: " + (f"[red]could not run[/]: {w['error']}" if "error" in w
                      else f"speed-up {_fmt_x(w['speedup'])}, energy {_fmt_x(w['energy_reduction'])}"))
