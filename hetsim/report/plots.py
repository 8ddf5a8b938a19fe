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


def plot_timeline(trace: Trace, path: Path, title: str = "") -> Path:
    """Write a Gantt chart (a row per engine slot and link direction, colour by step)."""
    rows = [s for info in trace.devices.values() for s in info.slots]
    rows += sorted(c for c in trace.channels if any(r.resource == c for r in trace.records))
    index = {r: i for i, r in enumerate(rows)}
    f, unit = _scale(trace.makespan_s or 1.0)
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.45 * len(rows)))
    by_step: dict[str, list] = {s: [] for s in STEP_NAMES}
    for r in trace.records:
        by_step[r.step].append((index[r.resource], r.start_s * f, r.duration_s * f))
    for step, bars in by_step.items():
        for row, x, w in bars:
            ax.broken_barh([(x, w)], (row - 0.4, 0.8), facecolors=STEP_COLORS[step],
                           edgecolor="black", linewidth=0.2)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"time ({unit})")
    ax.set_xlim(0, max(trace.makespan_s * f, 1e-12))
    ax.set_title(title or "hetsim timeline")
    ax.legend(handles=[Patch(color=STEP_COLORS[s], label=s) for s in STEP_NAMES if by_step[s]],
              loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.1 / max(1, len(rows))), ncol=6,
              fontsize=8, frameon=False)
    fig.tight_layout()
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
