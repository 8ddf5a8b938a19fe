"""Readable terminal tables (rich) for run and compare results."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..metrics import ratio_text
from ..steps import STEP_NAMES
from ..units import format_quantity


def _t(x: float) -> str:
    return format_quantity(x, "s")


def run_tables(result: dict, console: Console) -> None:
    """Print makespan, per-step breakdown, devices, links and energy."""
    console.print(f"[bold]{result.get('scenario', '')}[/] — mapping [bold]{result['mapping']}[/]: "
                  f"makespan [bold]{_t(result['makespan_s'])}[/], energy "
                  f"[bold]{result['energy_j']:.4g} J[/] ({result['energy_per_token_j']:.4g} J/token), "
                  f"memory processing {100 * result['memory_processing_fraction']:.1f}% of the "
                  f"critical path, {result['tasks']} tasks")
    t = Table(title="per step", title_justify="left")
    for c in ("step", "busy", "critical", "critical %", "energy (J)"):
        t.add_column(c, justify="right" if c != "step" else "left")
    ms = result["makespan_s"] or 1.0
    for s in STEP_NAMES:
        v = result["steps"][s]
        if v["busy_s"] == 0 and v["critical_s"] == 0:
            continue
        t.add_row(s, _t(v["busy_s"]), _t(v["critical_s"]), f"{100 * v['critical_s'] / ms:.1f}",
                  f"{v['energy_j']:.4g}")
    console.print(t)
    d = Table(title="devices", title_justify="left")
    for c in ("device", "tasks", "busy", "utilization", "energy (J)"):
        d.add_column(c, justify="right" if c != "device" else "left")
    for name, v in result["devices"].items():
        d.add_row(name, str(v["tasks"]), _t(v["busy_s"]), f"{100 * v['utilization']:.1f}%",
                  f"{v['energy_j']:.4g}")
    console.print(d)
    used = {k: v for k, v in result["links"].items() if v["transfers"]}
    if used:
        lt = Table(title="links (per direction)", title_justify="left")
        for c in ("channel", "transfers", "bytes", "busy"):
            lt.add_column(c, justify="right" if c != "channel" else "left")
        for name, v in used.items():
            lt.add_row(name, str(v["transfers"]), format_quantity(v["bytes"], "B"), _t(v["busy_s"]))
        console.print(lt)
    if result.get("extrapolated_tasks"):
        console.print(f"[yellow]warning:[/] {len(result['extrapolated_tasks'])} task costs were "
                      "extrapolated beyond calibrated ranges (see result.json)")


def compare_table(cmp: dict, console: Console, names=("baseline", "candidate")) -> None:
    """Print both runs side by side with speed-up and energy reduction."""
    b, c = cmp["baseline"], cmp["candidate"]
    t = Table(title=f"{names[0]} ({b['mapping']}) vs {names[1]} ({c['mapping']})", title_justify="left")
    for col in ("", names[0], names[1]):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("makespan", _t(b["makespan_s"]), _t(c["makespan_s"]))
    t.add_row("energy (J)", f"{b['energy_j']:.4g}", f"{c['energy_j']:.4g}")
    t.add_row("J/token", f"{b['energy_per_token_j']:.4g}", f"{c['energy_per_token_j']:.4g}")
    t.add_row("memory processing", f"{100 * b['memory_processing_fraction']:.1f}%",
              f"{100 * c['memory_processing_fraction']:.1f}%")
    for s in STEP_NAMES:
        if b["steps"][s]["critical_s"] or c["steps"][s]["critical_s"]:
            t.add_row(f"  {s} (critical)", _t(b["steps"][s]["critical_s"]), _t(c["steps"][s]["critical_s"]))
    console.print(t)
    console.print(f"speed-up [bold]{ratio_text(cmp['speedup'], 'speedup')}[/], energy reduction "
                  f"[bold]{ratio_text(cmp['energy_reduction'], 'energy')}[/] ({names[1]} vs {names[0]})")
