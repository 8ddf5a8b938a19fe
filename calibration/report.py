"""The fidelity report of ``hetsim validate``: terminal tables, a Markdown page and plots.

Everything shown comes from the dict of :func:`calibration.rounds.validate_rounds`; errors
are always a central figure over rounds with its 95% interval (for pipelines: the range four
further back-to-back runs' figures fall in, 95% simultaneous), never a single draw, and an interval too wide to claim a
number says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .rounds import task_classes
from .stats import claimable


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def fmt_ci(ci: dict) -> str:
    """``+1.2% [-0.4%, +3.0%]`` (and a note when the interval cannot back a claim). A
    pipeline figure's interval is the range four further back-to-back runs' figures are expected
    in (95% simultaneous, :func:`calibration.stats.repeat_interval`); whether it can be
    claimed is judged on its confidence interval (``ci_lo``, ``ci_hi``)."""
    if not ci or ci.get("median") is None:
        return "-"
    s = f"{_pct(ci['median'])} [{_pct(ci['lo'])}, {_pct(ci['hi'])}]"
    conf = {**ci, "lo": ci["ci_lo"], "hi": ci["ci_hi"]} if "ci_lo" in ci else ci
    return s if claimable(conf) else s + " (too wide to claim)"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{1e3 * x:.3g} ms"


def _shape_txt(shape: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in shape.items() if k != "elem_bytes")


# ---------------------------------------------------------------------------------------------
# plots


def plot_pipelines(result: dict[str, Any], path: Path) -> Path:
    """Per pipeline and round: measured vs table prediction and drift-corrected prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["pipelines"])
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(5.5 * max(1, len(names)), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        v = result["pipelines"][name]
        s = v["series"]
        rounds = range(1, len(s["measured_s"]) + 1)
        ax.plot(rounds, [1e3 * m for m in s["measured_s"]], "o-", label="measured (pipeline pass)")
        ax.plot(rounds, [1e3 * v["simulated_s"]] * len(s["measured_s"]), "--", label="simulated, stored table")
        ax.plot(rounds, [1e3 * v["simulated_s"] * (1 + d) for d in s["drift"]], "s-",
                label="simulated x same-round drift")
        ax.set_xlabel("round")
        ax.set_ylabel("time per pass (ms)")
        ax.set_title(f"{name}: corrected error {_pct(v['error_corrected']['median'])}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_tasks(result: dict[str, Any], path: Path) -> Path:
    """Per task class: in-pipeline time vs the table's cold price (drift-scaled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5.5))
    xs, ys = [], []
    for name, v in result["pipelines"].items():
        d = v["drift"]["median"] or 0.0
        rows = task_classes(v["per_task"])
        x = [r["in_pipeline_s"] for r in rows]
        y = [r["table_cold_s"] * (1 + d) for r in rows]
        ax.scatter(x, y, s=18, label=f"{name} tasks")
        xs += x
        ys += y
    if xs:
        lo, hi = min(xs + ys), max(xs + ys)
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, label="predicted = measured")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("measured inside the pipeline (s)")
    ax.set_ylabel("predicted: table cold price x drift (s)")
    ax.set_title("per task: in-pipeline vs predicted")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_kernels(result: dict[str, Any], table_path: str | Path, path: Path) -> Path:
    """Every calibrated point: held-out prediction vs measurement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hetsim.costs.fitted import heldout_point_predictions
    from hetsim.costs.tables import read_table

    table = read_table(table_path)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    allv = []
    for name, entry in sorted(table.data["kernels"].items()):
        fit = entry.get("fit", {})
        t, pred = heldout_point_predictions(fit, name)
        if not len(t):
            continue
        ax.scatter(t, pred, s=10, alpha=0.7, label=name)
        allv += list(t) + list(pred)
    if allv:
        lo, hi = max(min(allv), 1e-9), max(allv)
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("measured (s)")
    ax.set_ylabel("held-out prediction (s)")
    ax.set_title("per kernel: leave-one-out predictions")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Markdown


def _span(result: dict[str, Any]) -> str:
    spans = [v.get("rounds_span_s") for v in result["pipelines"].values()]
    spans = [s for s in spans if s is not None]
    return f" (each pipeline's rounds span {min(spans):.0f}-{max(spans):.0f} s)" if spans else ""


def markdown(result: dict[str, Any], images: dict[str, str] | None = None) -> str:
    """The fidelity page (Markdown) of a validation result."""
    images = images or {}
    prov = result.get("provenance", {})
    lines = ["# hetsim fidelity report", "",
             f"Table `{result['table']}` ({result.get('device', {}).get('name', '?')}), made "
             f"{prov.get('date', '?')} on {prov.get('host', '?')} ({prov.get('cpu_model', '?')}) by "
             f"`{prov.get('command', '?')}`; validated with {result['threads']} thread(s), "
             f"{result['rounds']} rounds per pipeline, the pipelines' rounds interleaved"
             + _span(result) + ". Errors are signed (simulated / measured - 1): per pipeline the "
             "mean of the rounds' figures and the range the figures of four further back-to-back "
             "runs are expected in, 95% simultaneous (batch means: the spread of the means of "
             "blocks of consecutive rounds, so drift between blocks of the run counts; a "
             "multivariate-t factor, so all four at once, not each alone).", "",
             f"**Verdict: {'reliable' if result['reliable'] else 'UNRELIABLE'}.**", ""]
    for w in result.get("warnings", []):
        lines.append(f"- {w}")
    for name, v in result["pipelines"].items():
        for r in v["reasons"]:
            lines.append(f"- {name}: {r}")
    lines += ["", "## Pipelines", "",
              "| pipeline | tasks | measured | simulated (table) | drift (machine now vs table) "
              "| error vs table | drift-corrected error | waited for a CPU |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in result["pipelines"].items():
        w = (v.get("waited_fraction") or {}).get("median")
        lines.append(f"| {name} | {v['tasks']} | {_ms(v['measured_s']['median'])} | {_ms(v['simulated_s'])} "
                     f"| {fmt_ci(v['drift'])} | {fmt_ci(v['error_vs_table'])} | {fmt_ci(v['error_corrected'])} "
                     f"| {'-' if w is None else f'{w:.1%}'} |")
    if "pipelines" in images:
        lines += ["", f"![pipelines]({images['pipelines']})"]
    lines += ["", "## Tasks inside the pipelines", "",
              "In-pipeline time of each task class (median over rounds and tasks) vs the table's "
              "price for one cold call and for a warm call in a loop, both scaled by the drift (medians pooled over rounds).", "",
              "| pipeline | kernel | shape | tasks | in pipeline | table cold | table warm "
              "| error (cold) | error (warm only) |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, v in result["pipelines"].items():
        for c in task_classes(v["per_task"]):
            lines.append(f"| {name} | {c['kernel']} | {_shape_txt(c['shape'])} | {c['count']} "
                         f"| {_ms(c['in_pipeline_s'])} | {_ms(c['table_cold_s'])} | {_ms(c['table_warm_s'])} "
                         f"| {_pct(c['error_corrected'])} | {_pct(c['error_corrected_warm_only'])} |")
    ctx = [(name, a) for name, v in result["pipelines"].items() for a in v.get("contexts") or ()]
    if ctx:
        fs = sorted(a["factor"] for _, a in ctx)
        far = sorted(ctx, key=lambda x: -abs(x[1]["factor"] - 1.0))[:6]
        whole = sum(1 for _, a in ctx if a.get("from_pass_start"))
        lines += ["", f"{len(ctx)} tasks priced and re-measured as a single call right after their "
                  f"predecessor chain, replayed ({whole} of them from the start of their pass; the "
                  "table's per-context factor, cold in context / cold "
                  f"after evict; factors {fs[0]:.3f}-{fs[-1]:.3f}); farthest from 1: "
                  + "; ".join(f"{name} {a['task']} after {', '.join(a['context'][-2:])}"
                              f"{' (+' + str(len(a['context']) - 2) + ' earlier)' if len(a['context']) > 2 else ''}"
                              f" x{a['factor']:.3f}" for name, a in far) + "."]
    if "tasks" in images:
        lines += ["", f"![tasks]({images['tasks']})"]
    lines += ["", "## Kernels (held out)", "",
              "| kernel | model | points | held-out error (median [95% interval]) |", "|---|---|---:|---:|"]
    for k, v in result["kernels"].items():
        rows = [(k, v)] + [(f"{k}, {r} regime", sub) for r, sub in (v.get("regimes") or {}).items()]
        for label, row in rows:
            ci = row["heldout_ci"]
            txt = "-" if ci["median"] is None else (f"{100 * ci['median']:.1f}% [{100 * ci['lo']:.1f}%, "
                                                    f"{100 * ci['hi']:.1f}%] (coverage {ci['coverage']:.0%})")
            lines.append(f"| {label} | {row['model']} | {row['points']} | {txt} |")
    if "kernels" in images:
        lines += ["", f"![kernels]({images['kernels']})"]
    lines += ["", "## Machine-state probes", "",
              "| probe | table | now (median) | slowdown | beyond noise |", "|---|---:|---:|---:|---|"]
    cmp = result["probes"]["comparison"]
    for key in ("gemm_1t_s", "gemm_all_s", "copy_Bps"):
        if key in cmp:
            c = cmp[key]
            lines.append(f"| {key} | {c['table']:.4g} | {c['now']:.4g} | {_pct(c['slowdown'])} "
                         f"| {'yes' if c['beyond_noise'] else 'no'} (tolerance {c['tolerance']:.0%}) |")
    runs = result["probes"]["runs"]
    loads = [r.get("loadavg_1m") for r in runs]
    steals = [r.get("steal_frac") for r in runs]
    made_w = prov.get("waited_fraction")
    lines += ["", f"Load average during validation: {', '.join('-' if x is None else f'{x:.2f}' for x in loads)}; "
              f"share of the calibration sweep its threads waited for a CPU: "
              f"{'-' if made_w is None else f'{made_w:.1%}'}; "
              f"CPU steal: {', '.join('-' if x is None else f'{x:.1%}' for x in steals)}."]
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], table_path: str | Path, outdir: str | Path) -> Path:
    """Write ``fidelity.md`` and its plots into *outdir*; return the Markdown path."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    images = {"pipelines": plot_pipelines(result, out / "pipelines.png").name,
              "tasks": plot_tasks(result, out / "tasks.png").name,
              "kernels": plot_kernels(result, table_path, out / "kernels.png").name}
    page = out / "fidelity.md"
    page.write_text(markdown(result, images))
    return page


def print_summary(result: dict[str, Any], console) -> None:
    """Rich tables of a validation result on *console*."""
    from rich.table import Table

    p = Table(title="end to end: executed for real vs simulated (mean of rounds [range four further "
                    "back-to-back runs' figures are expected in, 95% simultaneous])",
              title_justify="left")
    for c in ("pipeline", "measured", "simulated", "drift", "error vs table", "drift-corrected error"):
        p.add_column(c, justify="left" if c == "pipeline" else "right")
    for name, v in result["pipelines"].items():
        p.add_row(name, _ms(v["measured_s"]["median"]), _ms(v["simulated_s"]), fmt_ci(v["drift"]),
                  fmt_ci(v["error_vs_table"]), fmt_ci(v["error_corrected"]))
    console.print(p)
    t = Table(title="per task: in pipeline vs table (cold call, in its context where the table holds "
                    "one), drift-corrected", title_justify="left")
    for c in ("pipeline", "kernel", "tasks", "in pipeline", "table cold", "error"):
        t.add_column(c, justify="left" if c in ("pipeline", "kernel") else "right")
    for name, v in result["pipelines"].items():
        for c in task_classes(v["per_task"]):
            t.add_row(name, c["kernel"], str(c["count"]), _ms(c["in_pipeline_s"]), _ms(c["table_cold_s"]),
                      _pct(c["error_corrected"]))
    console.print(t)
    for w in result.get("warnings", []):
        console.print(f"note: {w}", markup=False)
    for name, v in result["pipelines"].items():
        for r in v["reasons"]:
            console.print(f"UNRELIABLE {name}: {r}", markup=False)


__all__ = ["markdown", "write_report", "print_summary", "fmt_ci", "plot_pipelines", "plot_tasks",
           "plot_kernels"]
