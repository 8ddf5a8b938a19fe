"""Latency-energy plot of a mapping search: every candidate, the Pareto front, named policies.

Several labelled points often coincide (the best mapping is on the front; ``hetero`` may be
the best). So labelled points are drawn as outlines only, the first-drawn largest, so each
marker stays visible around the ones on top of it; and a table beside the plot lists every
labelled point with its numbers, so nothing depends on seeing a marker.
"""

from __future__ import annotations

from pathlib import Path

from .plots import SERIES_COLORS, _DPI, pyplot

_MARKERS = "s^Dvp<>h"


def labelled_points(search_result, named: dict[str, dict]) -> list[tuple[str, float, float, str, str]]:
    """(label, makespan_s, energy_j, marker, colour) of the front, the named policies, the best."""
    pts = [(f"front {i + 1}", c.result["makespan_s"], c.result["energy_j"], "o", "#4e79a7")
           for i, c in enumerate(search_result.pareto())]
    for i, (name, r) in enumerate(named.items()):
        pts.append((name, r["makespan_s"], r["energy_j"], _MARKERS[i % len(_MARKERS)],
                    SERIES_COLORS[(i + 1) % len(SERIES_COLORS)]))
    b = search_result.best.result
    pts.append((f"best ({search_result.objective})", b["makespan_s"], b["energy_j"], "*", "#e15759"))
    return pts


def plot_pareto(search_result, named: dict[str, dict], path: Path, title: str = "") -> Path:
    """Write a scatter of (makespan, energy) with the front as a step line and a table beside."""
    plt = pyplot()
    fig, (ax, tab) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [3, 2]})
    xs = [c.result["makespan_s"] * 1e3 for c in search_result.candidates]
    ys = [c.result["energy_j"] for c in search_result.candidates]
    ax.scatter(xs, ys, s=10, color="#c8c8c8", label=f"candidates ({len(xs)})", zorder=1)
    front = search_result.pareto()
    ax.step([c.result["makespan_s"] * 1e3 for c in front], [c.result["energy_j"] for c in front],
            where="post", color="#4e79a7", linewidth=1, zorder=2)
    pts = labelled_points(search_result, named)
    # coincident points: each later one a size step smaller, so every outline shows
    seen: dict[tuple[float, float], int] = {}
    for i, (lab, x, y, mk, col) in enumerate(pts):
        key = (round(x, 15), round(y, 12))
        k = seen.get(key, 0)
        seen[key] = k + 1
        size = max(25.0, 340.0 * 0.6 ** k)
        ax.scatter([x * 1e3], [y], marker=mk, s=size, facecolors="none", edgecolors=col,
                   linewidths=1.6, zorder=3 + i, label=lab if not lab.startswith("front ") or lab == "front 1"
                   else None)
    handles, labels = ax.get_legend_handles_labels()
    labels = ["Pareto front" if lab == "front 1" else lab for lab in labels]
    ax.legend(handles, labels, fontsize=8, markerscale=0.6)
    ax.set_xlabel("makespan (ms)")
    ax.set_ylabel("energy (J)")
    ax.set_title(title or "mapping search")
    tab.axis("off")
    first_at: dict[tuple[float, float], str] = {}
    cells = []
    for lab, x, y, _, _ in pts:
        key = (round(x, 15), round(y, 12))
        cells.append([lab, f"{x * 1e3:.4g}", f"{y:.4g}", first_at.setdefault(key, lab) if key in first_at else ""])
        first_at.setdefault(key, lab)
    if len(cells) > 24:  # a long front: its ends, the named policies and the best stay listed
        n = len(front)
        cells = cells[:10] + [[f"... {n - 12} more front points (map.json)", "", "", ""]] + cells[n - 2:]
    t = tab.table(cellText=cells, colLabels=["point", "makespan (ms)", "energy (J)", "same point as"], loc="upper center",
                  cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    t.scale(1, 1.2)
    tab.set_title("labelled points (coincident markers are nested)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return Path(path)
