"""``hetsim devices``: list presets, show every number with its source, check the files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import catalog
from .config.device import DeviceSpec
from .config.link import LinkSpec
from .config.stack import StackSpec
from .config.quantity import iter_quantities
from .errors import ConfigError
from .loader import validate

# A source starts with the id of a citation in the file's ``sources`` map: S12, S24b, HW24,
# HL4, V1, C1, A1, or a single capital letter (U). Free text must not start like an id.
_SOURCE_ID = re.compile(r"^\s*([A-Z]{1,3}\d{1,2}[a-z]?|[A-Z])(?=$|[\s,;:()\[\]])")


def cited_id(source: str | None) -> str | None:
    """The source id a ``source`` entry starts with (None for free text)."""
    m = _SOURCE_ID.match(source or "")
    return m.group(1) if m else None


def list_presets(con: Console, *, as_json: bool = False) -> int:
    """Print the device and link presets (as JSON: SI numbers, keyed by preset name)."""
    from .loader import load_device_preset, load_link_preset

    if as_json:
        doc = {"devices": {}, "links": {}}
        for name in catalog.preset_names("devices"):
            d = load_device_preset(name)
            doc["devices"][name] = {"kind": d.kind, "capacity_bytes": float(d.memory.capacity_bytes),
                                    "achievable_bandwidth_Bps": float(d.memory.achievable_bandwidth_Bps),
                                    "idle_w": float(d.power.idle_w), "active_w": float(d.power.active_w)}
        for name in catalog.preset_names("links"):
            lk = load_link_preset(name)
            doc["links"][name] = {"forward_model": lk.forward.model, "forward_time_1MB_s": lk.forward.time_s(1e6)}
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0

    t = Table(title="device presets")
    for c in ("name", "kind", "memory", "bandwidth (achievable)", "idle / active W"):
        t.add_column(c, no_wrap=True)
    from .units import format_quantity as fq

    for name in catalog.preset_names("devices"):
        d = load_device_preset(name)
        t.add_row(name, d.kind, fq(d.memory.capacity_bytes, "B"),
                  fq(d.memory.achievable_bandwidth_Bps, "B/s"),
                  f"{float(d.power.idle_w):g} / {float(d.power.active_w):g}")
    con.print(t)
    lt = Table(title="link presets")
    for c in ("name", "forward model", "forward time for 1 MB"):
        lt.add_column(c, no_wrap=True)
    for name in catalog.preset_names("links"):
        lk = load_link_preset(name)
        lt.add_row(name, lk.forward.model, fq(lk.forward.time_s(1e6), "s"))
    con.print(lt)
    return 0


def _preset(name: str):
    for kind, model in (("devices", DeviceSpec), ("links", LinkSpec)):
        if name in catalog.preset_names(kind):
            p = catalog.load_preset(kind, name)
            return p, validate(model, p.raw, file=str(p.path))
    known = catalog.preset_names("devices") + catalog.preset_names("links")
    raise ConfigError(f"unknown preset {name!r}; known: {', '.join(known)}")


def show(name: str, con: Console, *, as_json: bool = False) -> int:
    """Print every number of preset *name* with its source."""
    p, spec = _preset(name)
    rows = []
    for path, q in iter_quantities(spec):
        src = q.source or (f"measured: {q.measured}" if q.measured else "")
        sid = cited_id(q.source)
        if sid in p.sources:
            src = f"{q.source} — {p.sources[sid]}"
        rows.append({"field": path, "value": float(q), "source": src, "note": q.note or ""})
    if as_json:
        print(json.dumps({"name": name, "file": str(p.path), "numbers": rows,
                          "sources": p.sources, "spec": spec.model_dump(mode="json")}, indent=2))
        return 0
    t = Table(title=f"{name} ({p.path})")
    for c in ("field", "value (SI)", "source"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(r["field"], f"{r['value']:.6g}", r["source"] + (f" [{r['note']}]" if r["note"] else ""))
    con.print(t)
    return 0


#: preset folder -> the schema its files follow
_SPECS = {"devices": DeviceSpec, "links": LinkSpec, "stacks": StackSpec}


def check_file(path: Path, kind: str) -> list[str]:
    """Return the problems of one preset file (empty list: fine)."""
    problems: list[str] = []
    try:
        raw = catalog.read_yaml(path)
        if not isinstance(raw, dict):
            return [f"{path}: a preset file must be a mapping"]
        raw = dict(raw)
        sources = raw.pop("sources", {}) or {}
        if not isinstance(sources, dict):
            return [f"{path}: sources: must map ids to citations"]
        raw.setdefault("name", path.stem)
        if kind == "stacks":  # a stack keeps its sources as a field of its own
            raw["sources"] = sources
        spec = validate(_SPECS[kind], raw, file=str(path))
    except ConfigError as e:
        return [str(e)]
    for field, q in iter_quantities(spec):
        if not q.has_provenance:
            problems.append(f"{path}: {field}: number {float(q):g} has no 'source' or 'measured' entry")
            continue
        sid = cited_id(q.source)
        if sid is not None and sid not in sources:
            problems.append(f"{path}: {field}: cites {sid}, which is not in the file's 'sources' "
                            f"(defined: {', '.join(map(str, sources)) or 'none'})")
    return problems


def check(con: Console, extra: list[Path], *, as_json: bool = False) -> int:
    """Validate every preset (and *extra* files); exit code 2 when any has a problem.

    With *as_json* the report (files checked, problems) goes to stdout as JSON either way."""
    problems: list[str] = []
    files = []
    for root in catalog.model_dirs():
        for kind in _SPECS:
            files += [(p, kind) for p in sorted((root / kind).glob("*.yaml"))]
    for p in extra:
        files.append((p, p.parent.name if p.parent.name in ("links", "stacks") else "devices"))
    for path, kind in files:
        problems += check_file(path, kind)
    if as_json:
        print(json.dumps({"files": [str(p) for p, _ in files], "problems": problems, "ok": not problems},
                         indent=2))
    for line in problems:  # one line each, never wrapped at the terminal's width
        con.print(line, markup=False, soft_wrap=True)
    if problems:  # the error line names the first problem's file and field (the rest are above)
        raise ConfigError(f"{len(problems)} problem(s) in {len(files)} device/link/stack file(s); "
                          f"first: {problems[0]}")
    con.print(f"{len(files)} device/link/stack files: every number validated and sourced")
    return 0
