"""Latency-energy plot of a mapping search: every candidate, the Pareto front, named policies."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_pareto(search_result, named: dict[str, dict], path: Path, title: str = "") -> Path:
    """Write a scatter of (makespan, energy) with the front as a step line."""
    fig, ax = plt.subplots(figsize=(7, 5))
    xs = [c.result["makespan_s"] * 1e3 for c in search_result.candidates]
    ys = [c.result["energy_j"] for c in search_result.candidates]
    ax.scatter(xs, ys, s=12, color="#bbbbbb", label=f"candidates ({len(xs)})")
    front = search_result.pareto()
    ax.step([c.result["makespan_s"] * 1e3 for c in front], [c.result["energy_j"] for c in front],
            where="post", color="#4e79a7", marker="o", label="Pareto front")
    markers = iter("s^Dv<>p*")
    for name, r in named.items():
        ax.scatter([r["makespan_s"] * 1e3], [r["energy_j"]], marker=next(markers, "x"), s=60,
                   label=name, zorder=3)
    b = search_result.best.result
    ax.scatter([b["makespan_s"] * 1e3], [b["energy_j"]], marker="*", s=200, color="#e15759",
               label=f"best ({search_result.objective})", zorder=4)
    ax.set_xlabel("makespan (ms)")
    ax.set_ylabel("energy (J)")
    ax.set_title(title or "mapping search")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
