"""The short summary of ``hetsim reproduce``: one row per family and GPU.

Kept apart from the figures (no matplotlib) because the README embeds this table verbatim and
``hetsim reproduce --update-readme`` / ``--json`` runs need it without drawing anything.
"""

from __future__ import annotations


def _fmt_x(v) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _rows(data: dict):
    """(family, gpu entry) for every family that ran."""
    for fam in data["families"]:
        for g in fam.get("gpus", []):
            yield fam, g


def responsible_text(rs: dict | None, gap: dict | None = None, short: bool = False) -> str:
    """One phrase naming the ladder step responsible for as-the-study lying outside the range.

    *rs* is a ``responsible_step`` record of :mod:`hetsim.reproduce` (the rule is stated in it);
    *gap* the ``widest_gap`` record, named when no ladder step moves the result.
    """
    if not rs:
        return "-"
    if rs["verdict"] == "within":
        return "- (within range)"
    if rs["step"] is None:
        where = f", {gap['step']} differs most" if gap else ""
        return (f"none moves it >= 1% (shared models{where})" if short else
                "none: no ladder step moves it by 1% or more")
    way = {"toward": "toward", "away": "away from"}.get(rs["direction"], rs["direction"])
    if short:
        return f"{rs['step']} (x{rs['factor']:.2f}, {way} the range)"
    share = rs.get("share_of_gap")
    need = (f"; reaching the range needs x{rs['gap_factor']:.3f}, so this step covers {100 * share:+.0f}% of that"
            if share is not None and rs.get("gap_factor") else "")
    return f"**{rs['step']}** ({rs['assumption']}: x{rs['factor']:.3f}, {way} the range{need})"


def summary_rows(data: dict) -> list[list[str]]:
    """family x GPU rows of the short summary (README and report): speed-up, energy, verdict, step."""
    rows = []
    for fam, g in _rows(data):
        a, t = g["as_the_study"], g["tuned"]
        if "error" in a or "error" in t:
            rows.append([fam["key"], g["gpu"], "error", "error", "-", "could not run", "-"])
            continue
        v = g["verdict"]["as_the_study"]
        rows.append([fam["key"], g["gpu"], f"{a['speedup']:.2f}x / {t['speedup']:.2f}x",
                     f"{a['energy_reduction']:.2f}x / {t['energy_reduction']:.2f}x",
                     _pct(a["memory_processing_fraction"]),
                     " / ".join(v[k] for k in ("speedup", "energy_reduction", "memory_processing_fraction")),
                     responsible_text(g.get("responsible_step"), g.get("widest_gap"), short=True)])
    return rows


SUMMARY_HEADER = ["family", "GPU", "speed-up (study / tuned)", "energy reduction (study / tuned)",
                  "memory processing", "as-the-study vs range (speed-up / energy / memory)",
                  "responsible ladder step (speed-up)"]


SUMMARY_BEGIN = "<!-- reproduce-summary:begin (hetsim reproduce --update-readme README.md) -->"
SUMMARY_END = "<!-- reproduce-summary:end -->"


def readme_summary(text: str) -> str | None:
    """The summary table between the markers of a README text (None if it has no markers)."""
    if SUMMARY_BEGIN not in text or SUMMARY_END not in text:
        return None
    return text.split(SUMMARY_BEGIN, 1)[1].split(SUMMARY_END, 1)[0].strip("\n") + "\n"


def replace_summary(text: str, table: str, file: str = "README.md") -> str:
    """*text* with the table between the markers replaced by *table*."""
    if readme_summary(text) is None:
        from ..errors import ConfigError

        raise ConfigError(f"has no summary markers ({SUMMARY_BEGIN} ... {SUMMARY_END})", file=file)
    head, rest = text.split(SUMMARY_BEGIN, 1)
    return head + SUMMARY_BEGIN + "\n" + table + rest[rest.index(SUMMARY_END):]


def summary_table_md(data: dict) -> str:
    """The short summary as a Markdown table (the README embeds exactly this text)."""
    out = ["| " + " | ".join(SUMMARY_HEADER) + " |", "|" + "---|" * len(SUMMARY_HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in summary_rows(data)]
    return "\n".join(out) + "\n"
