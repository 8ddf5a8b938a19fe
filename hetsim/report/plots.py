"""Matplotlib pictures: a Gantt timeline of a run and a compare bar chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ..graph import STEP_NAMES  # noqa: E402
from ..trace import Trace  # noqa: E402

STEP_COLORS = {
    "prepare_memory": "#4e79a7",
    "compute_relevancy": "#f28e2b",
    "retrieval": "#e15759",
    "apply_to_inference": "#59a14f",
    "model": "#9c9c9c",
    "transfer": "#b07aa1",
}


def _scale(makespan: float) -> tuple[float, str]:
    for f, u in ((1.0, "s"), (1e3, "ms"), (1e6, "us")):
        if makespan * f >= 1:
            return f, u
    return 1e9, "ns"


def _gantt(ax, trace: Trace, rows: list[str], f: float, xmax: float) -> None:
    index = {r: i for i, r in enumerate(rows)}
    for r in trace.records:
        if r.resource in index and r.start_s * f <= xmax:
            ax.broken_barh([(r.start_s * f, r.duration_s * f)], (index[r.resource] - 0.4, 0.8),
                           facecolors=STEP_COLORS[r.step], edgecolor="black", linewidth=0.2)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, max(xmax, 1e-12))


def plot_timeline(trace: Trace, path: Path, title: str = "") -> Path:
    """Write a Gantt chart: a row per engine slot and link direction in use, coloured by step.

    When the run has several layers, a second panel zooms into the first two so individual
    kernels and transfers stay visible.
    """
    used = {r.resource for r in trace.records}
    rows = [s for info in trace.devices.values() for s in info.slots if s in used]
    rows += sorted(c for c in trace.channels if c in used)
    rows = rows or ["(nothing ran)"]
    f, unit = _scale(trace.makespan_s or 1.0)
    layered = [r for r in trace.records if r.layer is not None]
    zoom_end = max((r.end_s for r in layered if r.layer <= 1), default=0.0)
    zoom = bool(layered) and 0 < zoom_end < 0.5 * trace.makespan_s
    height = 0.9 + 0.35 * len(rows)
    fig, axes = plt.subplots(2 if zoom else 1, 1, figsize=(13, (2 if zoom else 1) * height + 0.8),
                             squeeze=False)
    _gantt(axes[0][0], trace, rows, f, trace.makespan_s * f)
    axes[0][0].set_title(title or "hetsim timeline")
    axes[-1][0].set_xlabel(f"time ({unit})")
    if zoom:
        zf, zunit = _scale(zoom_end)
        _gantt(axes[1][0], trace, rows, zf, zoom_end * zf)
        axes[1][0].set_title("first two layers", fontsize=9)
        axes[1][0].set_xlabel(f"time ({zunit})")
    steps = {r.step for r in trace.records}
    fig.legend(handles=[Patch(color=STEP_COLORS[s], label=s) for s in STEP_NAMES if s in steps],
               loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_compare(cmp: dict, path: Path, names: tuple[str, str] = ("baseline", "candidate")) -> Path:
    """Bar chart of critical time per step and energy for two runs."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    runs = [cmp["baseline"], cmp["candidate"]]
    f, unit = _scale(max(r["makespan_s"] for r in runs) or 1.0)
    bottoms = [0.0, 0.0]
    for step in STEP_NAMES:
        vals = [r["steps"][step]["critical_s"] * f for r in runs]
        a1.bar(names, vals, bottom=bottoms, color=STEP_COLORS[step], label=step)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    a1.set_ylabel(f"critical-path time ({unit})")
    a1.set_title(f"speed-up {cmp['speedup']:.2f}x")
    a1.legend(fontsize=7)
    a2.bar(names, [r["energy_j"] for r in runs], color=["#9c9c9c", "#4e79a7"])
    a2.set_ylabel("energy (J)")
    a2.set_title(f"energy reduction {cmp['energy_reduction']:.2f}x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_sweep(rows: list[dict], axes: list, mappings: list[str], path: Path) -> Path:
    """Makespan and energy per mapping along the first axis (a line per other-axes combo),
    plus the speed-up of every other mapping over the first."""
    x_axis = axes[0].path
    others = [a.path for a in axes[1:]]
    ok = [r for r in rows if "error" not in r]
    combos = sorted({tuple((k, r["point"][k]) for k in others) for r in ok}, key=str) or [()]
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4))
    for combo in combos:
        label_extra = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in combo)
        sel = [r for r in ok if all(r["point"][k] == v for k, v in combo)]
        for m in mappings:
            pts = sorted((r["point"][x_axis], r) for r in sel if r["mapping"] == m)
            if not pts:
                continue
            xs = [p[0] for p in pts]
            lab = m + (f" ({label_extra})" if label_extra else "")
            a1.plot(xs, [p[1]["makespan_s"] * 1e3 for p in pts], marker="o", label=lab)
            a2.plot(xs, [p[1]["energy_j"] for p in pts], marker="o", label=lab)
        base = {r["point"][x_axis]: r for r in sel if r["mapping"] == mappings[0]}
        for m in mappings[1:]:
            pts = sorted((r["point"][x_axis], base[r["point"][x_axis]]["makespan_s"] / r["makespan_s"])
                         for r in sel if r["mapping"] == m and r["point"][x_axis] in base)
            if pts:
                a3.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                        label=f"{m} vs {mappings[0]}" + (f" ({label_extra})" if label_extra else ""))
    numeric = all(isinstance(r["point"][x_axis], (int, float)) for r in ok)
    for ax, ylab in ((a1, "makespan (ms)"), (a2, "energy (J)"), (a3, "speed-up (x)")):
        ax.set_xlabel(x_axis.split(".")[-1])
        ax.set_ylabel(ylab)
        if numeric and ok and min(r["point"][x_axis] for r in ok) > 0:
            ax.set_xscale("log", base=2)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    a3.axhline(1.0, color="black", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
