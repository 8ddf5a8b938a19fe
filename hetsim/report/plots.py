"""Matplotlib pictures: a Gantt timeline of a run, a compare bar chart, a sweep overview.

matplotlib is imported inside the drawing functions, never at module import: ``--json`` and
``--no-plot`` runs do not pay the ~0.5 s it costs to load.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..metrics import ratio_text
from ..steps import STEP_NAMES
from ..trace import Trace

STEP_COLORS = {
    "prepare_memory": "#4e79a7",
    "compute_relevancy": "#f28e2b",
    "retrieval": "#e15759",
    "apply_to_inference": "#59a14f",
    "model": "#9c9c9c",
    "transfer": "#b07aa1",
}
# one colour per series (mapping) wherever it appears: the same mapping never changes colour
SERIES_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                 "#ff9da7", "#9c755f", "#bab0ac")
FAILED_COLOR = "#d62728"
_DPI = 120
_WIDTH_IN = 13.0
# zlib level 1 instead of PIL's default 6 for the timeline: the same pixels (PNG compression is
# lossless), written in about a third less time for a file about a quarter larger (58 KB
# against 45 KB for the default run), on the critical path of every `hetsim run`
_PNG = {"pil_kwargs": {"compress_level": 1}}


def load_matplotlib() -> None:
    """Import what :func:`new_figure` needs (a process that draws later can pay this early)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.collections  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401


def new_figure(**kwargs):
    """A matplotlib Figure drawn by the Agg canvas, without importing pyplot.

    pyplot loads the backend machinery, colormaps and the interactive state a file-only
    picture never uses; a bare Figure with an Agg canvas writes the same PNG and is not
    registered anywhere, so nothing has to be closed afterwards.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scale(makespan: float) -> tuple[float, str]:
    for f, u in ((1.0, "s"), (1e3, "ms"), (1e6, "us")):
        if makespan * f >= 1:
            return f, u
    return 1e9, "ns"


def bars_by_row_and_step(trace: Trace, rows: list[str], f: float, xmax: float,
                         min_width: float = 0.0) -> dict[tuple[int, str], list[tuple[float, float]]]:
    """Group the records into (row, step) -> [(start, width)] in plot units, visible part only.

    Bars of one (row, step) closer than *min_width* (about half a pixel) are merged: the
    picture is the same at the saved resolution and a million-record run stays cheap to draw.
    """
    index = {r: i for i, r in enumerate(rows)}
    spans: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for r in trace.records:
        i = index.get(r.resource)
        if i is None:
            continue
        s = r.start_s * f
        if s > xmax:
            continue
        spans[(i, r.step)].append((s, min(r.end_s * f, xmax)))
    out = {}
    for key, iv in spans.items():
        iv.sort()
        merged: list[list[float]] = []
        for s, e in iv:
            if merged and s - merged[-1][1] <= min_width:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        # a bar narrower than a pixel is drawn one pixel wide, so short transfers stay visible
        out[key] = [(s, max(e - s, min_width * 2)) for s, e in merged]
    return out


def _gantt(ax, trace: Trace, rows: list[str], f: float, xmax: float) -> None:
    from matplotlib.collections import PolyCollection

    xmax = max(xmax, 1e-12)
    px = xmax / (_WIDTH_IN * 0.8 * _DPI)  # plot units per pixel, roughly
    for (i, step), bars in sorted(bars_by_row_and_step(trace, rows, f, xmax, 0.5 * px).items()):
        # one collection per (row, step); outlines only where bars are wide enough to show them
        verts = [((s, i - 0.4), (s, i + 0.4), (s + w, i + 0.4), (s + w, i - 0.4)) for s, w in bars]
        widths = [0.2 if w > 3 * px else 0.0 for _, w in bars]
        ax.add_collection(PolyCollection(verts, facecolors=STEP_COLORS[step], edgecolors="black",
                                         linewidths=widths))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, xmax)
    ax.set_ylabel("resource", fontsize=8)


def timeline_rows(trace: Trace) -> list[str]:
    """Engine slots in device order, then link channels: only those that ran something."""
    used = {r.resource for r in trace.records}
    rows = [s for info in trace.devices.values() for s in info.slots if s in used]
    rows += sorted(c for c in trace.channels if c in used)
    return rows or ["(nothing ran)"]


def plot_timeline(trace: Trace, path: Path, title: str = "") -> Path:
    """Write a Gantt chart: a row per engine slot and link direction in use, coloured by step.

    When the run has several layers, a second panel zooms into the first two so individual
    kernels and transfers stay visible. Every panel has both axis labels.
    """
    from matplotlib.patches import Patch

    rows = timeline_rows(trace)
    f, unit = _scale(trace.makespan_s or 1.0)
    zoom_end = max((r.end_s for r in trace.records if r.layer is not None and r.layer <= 1), default=0.0)
    zoom = 0 < zoom_end < 0.5 * trace.makespan_s
    height = 0.9 + 0.35 * len(rows)
    fig = new_figure(figsize=(_WIDTH_IN, (2 if zoom else 1) * height + 0.8))
    axes = fig.subplots(2 if zoom else 1, 1, squeeze=False)
    _gantt(axes[0][0], trace, rows, f, trace.makespan_s * f)
    axes[0][0].set_title(title or "hetsim timeline")
    axes[0][0].set_xlabel(f"time ({unit})")
    if zoom:
        zf, zunit = _scale(zoom_end)
        _gantt(axes[1][0], trace, rows, zf, zoom_end * zf)
        axes[1][0].set_title("first two layers", fontsize=9)
        axes[1][0].set_xlabel(f"time ({zunit})")
    steps = {r.step for r in trace.records}
    fig.legend(handles=[Patch(color=STEP_COLORS[s], label=s) for s in STEP_NAMES if s in steps],
               loc="upper right", fontsize=8, frameon=False)
    # fixed margins in inches instead of tight_layout, which renders every label once more
    # (a quarter of the drawing time); the row labels are the only variable-width text
    h_in = fig.get_figheight()
    left_in = 0.55 + 0.065 * max(len(r) for r in rows)
    fig.subplots_adjust(left=left_in / _WIDTH_IN, right=0.86, top=1 - 0.4 / h_in, bottom=0.55 / h_in,
                        hspace=0.85 / (height - 0.6) if zoom else 0.2)
    fig.savefig(path, dpi=_DPI, **_PNG)
    return Path(path)


def warm_up() -> None:
    """Draw a tiny titled, labelled axes to nowhere, through the calls the timeline makes.

    Why: a process that has just imported matplotlib pays on its first picture for finding
    and loading the font, importing PIL's PNG plug-in and first calls into the tick and text
    machinery. The plot worker calls this while it waits for the trace, so the picture the
    user waits for is drawn warm. It is kept small (about a sixth of a timeline's cost):
    when the trace arrives during the warm-up, the user waits for the rest of it, and a
    full-size warm-up saved no more on the next picture than this one. Nothing it caches
    changes a later picture's bytes (tested).
    """
    import io

    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    fig = new_figure(figsize=(2.0, 1.5))
    ax = fig.subplots(1, 1, squeeze=False)[0][0]
    ax.add_collection(PolyCollection([((0, -0.4), (0, 0.4), (1, 0.4), (1, -0.4))],
                                     facecolors=STEP_COLORS["model"], edgecolors="black", linewidths=[0.2]))
    ax.set_yticks([0])
    ax.set_yticklabels(["d.0"], fontsize=8)
    ax.set_ylim(0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_title("warm-up", fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("resource", fontsize=8)
    fig.legend(handles=[Patch(color=STEP_COLORS["model"], label="model")], loc="upper right", fontsize=8,
               frameon=False)
    fig.savefig(io.BytesIO(), dpi=_DPI, **_PNG)


def plot_compare(cmp: dict, path: Path, names: tuple[str, str] = ("baseline", "candidate")) -> Path:
    """Bar chart of critical time per step and energy for two runs."""
    fig = new_figure(figsize=(11, 4))
    a1, a2 = fig.subplots(1, 2)
    runs = [cmp["baseline"], cmp["candidate"]]
    f, unit = _scale(max(r["makespan_s"] for r in runs) or 1.0)
    bottoms = [0.0, 0.0]
    for step in STEP_NAMES:
        vals = [r["steps"][step]["critical_s"] * f for r in runs]
        a1.bar(names, vals, bottom=bottoms, color=STEP_COLORS[step], label=step)
        bottoms = [b + v for b, v in zip(bottoms, vals)]
    a1.set_ylabel(f"critical-path time ({unit})")
    a1.set_xlabel("run")
    a1.set_title(f"speed-up {ratio_text(cmp['speedup'], 'speedup', 2)}")
    a1.legend(fontsize=7)
    a2.bar(names, [r["energy_j"] for r in runs], color=["#9c9c9c", "#4e79a7"])
    a2.set_ylabel("energy (J)")
    a2.set_xlabel("run")
    a2.set_title(f"energy reduction {ratio_text(cmp['energy_reduction'], 'energy', 2)}")
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    return Path(path)
