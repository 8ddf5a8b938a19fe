"""``hetsim fpga explore DESIGN``: sweep a design's hardware knobs on one card for one shape.

Why: whether the FPGA side wins depends on what the card can host. For one call shape the
explorer prices every combination of HBM ports, compute units, lanes and element type with the
design's cycle model, sizes it with the resource model (the device's ``fpga.resources``), checks
it against the card's pseudo-channels and fabric, and plots time against the share of the card
used, with the Pareto frontier of the designs that fit.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import ConfigError
from .kernels import KERNELS
from .limits import MAX_SIZE

EXAMPLE_SHAPES: dict[str, dict[str, int]] = {
    "topk": dict(batch=8, num_items=32768, k=2048),
    "dsa_indexer": dict(batch=8, num_keys=32768, num_heads=64, head_dim=128, k=2048),
    "dsa_indexer_score": dict(batch=8, num_keys=32768, num_heads=64, head_dim=128),
    "block_gate": dict(batch=8, num_keys=65536, block_size=64, head_dim=128, budget=4096),
    "page_bound": dict(batch=8, num_keys=65536, page_size=16, head_dim=128, k=64),
    "bm25": dict(num_postings=200000, num_docs=100000, num_terms=32, k=64),
    "inner_product_topk": dict(batch=8, num_items=65536, dim=128, k=64),
    "engram_gather": dict(num_tokens=1024, num_heads=16, row_elems=64),
    "study_dsa_vanilla": dict(batch=8, num_keys=32768, num_heads=16, head_dim=128, k=2048),
    "study_dsa_lut": dict(batch=8, num_keys=32768, num_heads=16, k=64),
    "study_seer_threshold": dict(batch=8, num_keys=16384, head_dim=128),
    "study_seer_budget": dict(batch=8, num_keys=16384, head_dim=128, k=64),
    "study_lserve": dict(batch=8, num_keys=16384, head_dim=128, k=64),
    "study_bm25": dict(num_docs=131072, doc_tokens=128, k=64),
    "study_engram": dict(num_tokens=1024),
    "study_moe": dict(num_tokens=1, hidden=7168, inter=2048, experts_per_token=4),
}
"""A representative call shape per design (override with ``--shape key=value``)."""

UNITS = (1, 2, 4, 8)

#: the most design points (parameter combinations x unit counts) one explore prices. The
#: built-in grids have 32-144; each point is priced, kept in explore.json and drawn, so a grid
#: of millions (``--set lanes=1,2,...`` over many values and parameters) ran for hours and
#: held every point in memory before writing anything. Refused up front, with the size.
MAX_POINTS = 20_000


def _parse_kv(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for it in items:
        k, eq, v = it.partition("=")
        if not eq or not k.strip() or not v.strip():
            raise ConfigError(f"must be KEY=VALUE, got {it!r}", field=what)
        if k.strip() in out:  # the last would silently win
            hint = f" with every value ({k.strip()}=V1,V2)" if what == "--set" else ""
            raise ConfigError(f"{k.strip()!r} is given twice; give it once{hint}", field=f"{what} {it}")
        out[k.strip()] = v.strip()
    return out


def _value(text: str, flag: str):
    """A --set value: an integer when it is written as one, else the text."""
    if not text.lstrip("-").isdigit():
        return text
    try:
        return int(text)
    except ValueError:  # more than 4300 digits: int() refuses it
        raise ConfigError(f"{text[:20]}... has {len(text)} digits; design parameters are small integers",
                          field=flag) from None


def _short(text: str, limit: int = 40) -> str:
    """*text* cut to *limit* characters (a flag named in an error with thousands of values)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def explore(design: str, device_name: str, shape_over: dict[str, str], sets: dict[str, str],
            units: tuple[int, ...] = UNITS) -> dict:
    """Every point of the sweep: params, units, time, ports, resources, fit (and the frontier)."""
    from .fpga_kernels import DESIGNS, estimate, merged_params, placement_overflow, structure, unit_resources
    from .costs.model import channel_param
    from .loader import load_device_preset

    if design not in DESIGNS:
        raise ConfigError(f"unknown FPGA design {design!r}; known: {', '.join(sorted(DESIGNS))}",
                          field="design")
    try:
        dev = load_device_preset(device_name)
    except ConfigError as e:
        if e.file or e.field:  # a broken preset file: that file is the place to look
            raise
        raise ConfigError(e.detail, field="--device") from None
    if dev.fpga is None:
        raise ConfigError(f"device {device_name!r} is not an FPGA", field="--device")
    if dev.fpga.resources is None:
        raise ConfigError(f"device {device_name!r} has no fpga.resources (fabric budget)", field="fpga.resources")
    costs = dev.fpga.resources.model_dump()
    cap = dict(dev.fpga.resources.capacity)
    d = DESIGNS[design]
    shape = dict(EXAMPLE_SHAPES.get(design, {}))
    allowed = sorted(set(shape) | set(d.shape_keys) | set(d.aliases))
    for k, v in shape_over.items():
        if k not in allowed:
            raise ConfigError(f"{design} has no shape key {k!r}; allowed: {', '.join(allowed)}",
                              field=f"--shape {k}={v}")
        try:
            shape[k] = int(v)
        except ValueError:
            shape[k] = 0
        if shape[k] < 1:
            raise ConfigError("must be a positive integer", field=f"--shape {k}={v}")
        if shape[k] > MAX_SIZE:  # the bound every task shape has (k=1e20 was priced)
            raise ConfigError(f"must be at most 2**53 ({MAX_SIZE:,})", field=f"--shape {k}={_short(v)}")
    spec = KERNELS.get(design)  # a design that is also a kernel: the kernel's bounds between keys
    for k, bound in (spec.at_most.items() if spec else ()):
        if k in shape and bound in shape and shape[k] > shape[bound]:
            flags = " ".join(f"--shape {x}={shape_over[x]}" for x in (k, bound) if x in shape_over)
            unset = [x for x in (k, bound) if x not in shape_over]
            hint = f" ({' and '.join(unset)} from the example shape; give --shape {unset[0]}=N)" if unset else ""
            raise ConfigError(f"{k}={shape[k]} must be at most {bound}={shape[bound]}{hint}", field=flags)
    axes: dict[str, tuple] = {k: tuple(v) for k, v in d.sweep.items()}
    for k, v in sets.items():
        if k not in d.defaults:
            raise ConfigError(f"{design} has no parameter {k!r}; known: {', '.join(sorted(d.defaults))}",
                              field=f"--set {k}={v}")
        axes[k] = tuple(_value(x.strip(), f"--set {k}={_short(v)}") for x in v.split(",") if x.strip())
        if not axes[k]:
            raise ConfigError("has no values", field=f"--set {k}={v}")
        twice = sorted({str(x) for x in axes[k] if axes[k].count(x) > 1})
        if twice:  # the same design priced twice, shown as two rows
            raise ConfigError(f"values given twice: {', '.join(twice)}", field=f"--set {k}={v}")
    names = sorted(axes)
    size = math.prod(len(axes[n]) for n in names) * len(units)
    if size > MAX_POINTS:
        counts = " x ".join(f"{len(axes[n])} {n}" for n in names)
        raise ConfigError(f"the grid has {size:,} design points ({counts} x {len(units)} unit counts), "
                          f"more than the cap of {MAX_POINTS:,}; sweep fewer values per --set",
                          field=" ".join(f"--set {k}={_short(v)}" for k, v in sets.items()) or "--set")
    points = []
    for combo in itertools.product(*(axes[n] for n in names)):
        params = {"clock_hz": float(dev.fpga.clock_hz), **channel_param(dev), **dict(zip(names, combo))}
        try:
            merged_params(design, params)
            s = structure(design, params)
            res = unit_resources(s, costs)
        except ValueError as e:
            flags = " ".join(f"--set {k}={sets[k]}" for k in names if k in sets) or "design defaults"
            raise ConfigError(f"{design} with {dict(zip(names, combo))}: {e}", field=flags) from None
        for u in units:
            batch = int(shape.get("batch", 1))
            sh = {**shape, "batch": math.ceil(batch / u)} if "batch" in shape else shape
            if "batch" not in shape and u > 1:
                continue  # nothing to split between units
            try:
                e = estimate(design, sh, params)
            except ValueError as err:
                points.append({"params": dict(zip(names, combo)), "units": u, "error": str(err), "fits": False})
                continue
            over = placement_overflow({design: (u, s.ports, res)}, cap, dev.fpga.num_hbm_ports)
            share = max([u * s.ports / dev.fpga.num_hbm_ports] + [u * res[k] / c for k, c in cap.items() if c])
            points.append({"params": dict(zip(names, combo)), "units": u, "time_s": e.time_s, "cycles": e.cycles,
                           "hbm_bytes": e.hbm_bytes, "ports": u * s.ports,
                           "resources": {k: u * v for k, v in res.items()}, "share": share,
                           "fits": not over, "over": over})
    ok = sorted((p for p in points if p["fits"]), key=lambda p: (p["share"], p["time_s"]))
    best = math.inf
    for p in ok:
        if p["time_s"] < best:
            p["frontier"] = True
            best = p["time_s"]
    return {"design": design, "device": device_name, "shape": shape, "axes": {k: list(v) for k, v in axes.items()},
            "capacity": {**cap, "HBM_channels": dev.fpga.num_hbm_ports}, "points": points,
            "note": "time = cycles / clock of one call (no invocation overhead); share = largest fraction of the "
                    "card's pseudo-channels or fabric the units use; LUT costs are [E] (see the device file)"}


def plot(result: dict, path: Path) -> None:
    """time vs share of the card: fitting points, refused points, and the frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [p for p in result["points"] if "time_s" in p]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for fits, color, label in ((True, "tab:blue", "fits"), (False, "tab:red", "does not fit")):
        sel = [p for p in pts if p["fits"] == fits]
        ax.scatter([p["share"] for p in sel], [p["time_s"] * 1e6 for p in sel], s=14, c=color, alpha=0.6,
                   label=f"{label} ({len(sel)})")
    fr = sorted((p for p in pts if p.get("frontier")), key=lambda p: p["share"])
    if fr:
        ax.step([p["share"] for p in fr], [p["time_s"] * 1e6 for p in fr], where="post", c="k", label="frontier")
    ax.axvline(1.0, c="grey", ls="--", lw=1)
    if any(p["time_s"] > 0 for p in pts):  # a log axis without one positive time cannot be drawn
        ax.set_yscale("log")
    ax.set_xlabel("largest share of the card used (HBM channels, DSP, BRAM, URAM, LUT)")
    ax.set_ylabel("time per call (us)")
    ax.set_title(f"{result['design']} on {result['device']}: {result['shape']}", fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_fpga(args) -> int:
    """Entry of ``hetsim fpga explore``."""
    con = Console(stderr=bool(args.json), highlight=False, width=150)
    res = explore(args.design, args.device, _parse_kv(args.shape, "--shape"), _parse_kv(args.set, "--set"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "explore.json").write_text(json.dumps(res, indent=1, sort_keys=True))
    plot(res, out / "explore.png")
    if args.json:
        print(json.dumps(res, sort_keys=True))
        return 0
    pts = [p for p in res["points"] if "time_s" in p]
    t = Table(title=f"{res['design']} on {res['device']} ({len(pts)} points, "
                    f"{sum(p['fits'] for p in pts)} fit; frontier marked *)", title_justify="left")
    for c in ("", "params", "units", "time (us)", "ports", "DSP", "BRAM_18K", "URAM", "LUT", "fit"):
        t.add_column(c)
    shown = sorted(pts, key=lambda p: (not p.get("frontier"), not p["fits"], p["time_s"]))[: args.top]
    for p in shown:
        r = p["resources"]
        t.add_row("*" if p.get("frontier") else "", " ".join(f"{k}={v}" for k, v in p["params"].items()),
                  str(p["units"]), f"{p['time_s'] * 1e6:.1f}", str(p["ports"]), str(r["DSP"]), str(r["BRAM_18K"]),
                  str(r["URAM"]), str(r["LUT"]), "yes" if p["fits"] else "no: " + "; ".join(
                      o.split(":")[0] for o in p["over"]))
    con.print(t)
    cap = res["capacity"]
    con.print(f"card: {cap}; {res['note']}")
    con.print(f"wrote {out / 'explore.json'}, {out / 'explore.png'}")
    return 0
