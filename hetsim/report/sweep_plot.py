"""The sweep picture: makespan, energy and speed-up along the first swept axis.

A reader compares series across panels, so each mapping keeps one colour in every panel and
each combination of the other axes one line style. Failed runs are drawn (a red cross on the
panel's floor at their x), never dropped silently. The speed-up of a mapping at each x is
taken against the *best* baseline run at that x over all other-axis values, and labelled so,
which is the comparison an architect means by "faster than the baseline".
"""

from __future__ import annotations

from pathlib import Path

from .plots import FAILED_COLOR, SERIES_COLORS, _DPI, pyplot

_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def best_baseline(rows: list[dict], x_axis: str, baseline: str) -> dict:
    """x value -> makespan of the fastest successful *baseline* run at that x."""
    best: dict = {}
    for r in rows:
        if r["mapping"] == baseline and "error" not in r:
            x = r["point"][x_axis]
            best[x] = min(best.get(x, float("inf")), r["makespan_s"])
    return best


def speedups(rows: list[dict], x_axis: str, baseline: str) -> list[tuple[dict, float]]:
    """(row, best-baseline makespan / row makespan) for every successful non-baseline run."""
    best = best_baseline(rows, x_axis, baseline)
    return [(r, best[r["point"][x_axis]] / r["makespan_s"]) for r in rows
            if r["mapping"] != baseline and "error" not in r and r["point"][x_axis] in best
            and r["makespan_s"] > 0]


def plot_sweep(rows: list[dict], axes: list, mappings: list[str], path: Path) -> Path:
    """Write three panels (makespan, energy, speed-up vs best baseline) along the first axis."""
    plt = pyplot()
    x_axis = axes[0].path
    xname = x_axis.split(".")[-1]
    others = [a.path for a in axes[1:]]
    colour = {m: SERIES_COLORS[i % len(SERIES_COLORS)] for i, m in enumerate(mappings)}
    combos = sorted({tuple((k, r["point"][k]) for k in others) for r in rows}, key=str) or [()]
    style = {c: (_STYLES[i % len(_STYLES)], _MARKERS[i % len(_MARKERS)]) for i, c in enumerate(combos)}
    ok = [r for r in rows if "error" not in r]
    failed = [r for r in rows if "error" in r]
    base = mappings[0]
    sp = speedups(rows, x_axis, base)
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16, 4.5))

    def label(m, combo):
        extra = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in combo)
        return m + (f" ({extra})" if extra else "")

    for combo in combos:
        ls, mk = style[combo]
        sel = [r for r in ok if all(r["point"][k] == v for k, v in combo)]
        for m in mappings:
            pts = sorted(((r["point"][x_axis], r) for r in sel if r["mapping"] == m), key=lambda p: str(p[0])
                         if not isinstance(p[0], (int, float)) else p[0])
            if not pts:
                continue
            xs = [p[0] for p in pts]
            # later mappings: hollow, smaller markers and thinner lines, so equal results of two
            # mappings show both series instead of one hiding the other
            j = mappings.index(m)
            kw = dict(color=colour[m], linestyle=ls, marker=mk, label=label(m, combo),
                      markersize=max(3.0, 9.0 - 2.5 * j), linewidth=max(0.8, 2.4 - 0.6 * j),
                      markerfacecolor=colour[m] if j == 0 else "none", zorder=2 + j)
            a1.plot(xs, [p[1]["makespan_s"] * 1e3 for p in pts], **kw)
            a2.plot(xs, [p[1]["energy_j"] for p in pts], **kw)
            s = sorted(((r["point"][x_axis], v) for r, v in sp if r["mapping"] == m
                        and all(r["point"][k] == val for k, val in combo)), key=lambda p: p[0])
            if s:
                a3.plot([p[0] for p in s], [p[1] for p in s], **kw)
    if failed:
        for ax, which in ((a1, failed), (a2, failed), (a3, [r for r in failed if r["mapping"] != base])):
            if which:
                ax.scatter([r["point"][x_axis] for r in which], [0.03] * len(which), marker="x", s=50,
                           color=FAILED_COLOR, transform=ax.get_xaxis_transform(), clip_on=False,
                           zorder=5, label=f"failed run ({len(which)}; reasons in sweep.jsonl)")
    xs_all = [r["point"][x_axis] for r in rows]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs_all)
    for ax, ylab in ((a1, "makespan (ms)"), (a2, "energy (J)"),
                     (a3, f"speed-up vs best {base} run at same {xname} (x)")):
        ax.set_xlabel(xname)
        ax.set_ylabel(ylab, fontsize=9)
        if numeric and xs_all:
            lo, hi = min(xs_all), max(xs_all)
            if lo > 0:
                ax.set_xscale("log", base=2)
                ax.set_xlim(lo / 1.3, hi * 1.3)
            else:
                pad = 0.05 * (hi - lo or 1)
                ax.set_xlim(lo - pad, hi + pad)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    a1.set_title("makespan")
    a2.set_title("energy")
    a3.set_title(f"speed-up over the best {base} run")
    a3.axhline(1.0, color="black", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return Path(path)
