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
