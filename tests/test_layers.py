"""Imports follow the data flow: a module never imports from a later stage.

scenario -> config -> task graph -> costs -> mapping -> engine -> trace -> metrics -> report -> cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hetsim"

RANK = {
    "units": 0, "errors": 0, "limits": 0, "steps": 0, "inputs": 0.5, "kernels": 1, "config": 2, "catalog": 3, "loader": 4,
    "topology": 5, "graph": 5, "fpga_kernels": 5, "costs": 6, "ingest": 6.5,
    "workloads": 7, "mapping": 7, "trace": 8, "engine": 9, "metrics": 10, "report": 11,
    "fastforward": 11.5, "simulation": 12, "sweep": 13, "devices_cli": 13, "fpga_cli": 13,
    "reproduce": 13.5, "cli": 14,
}


def _imports(path: Path):
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    pkg = parts[:-1] if path.name != "__init__.py" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[: len(pkg) - node.level + 1])
                mod = base + (node.module.split(".") if node.module else [])
                if not node.module:  # from . import x
                    for a in node.names:
                        yield mod + [a.name]
                    continue
            else:
                mod = (node.module or "").split(".")
            yield mod
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")


def _top(parts) -> str | None:
    return parts[1] if len(parts) > 1 and parts[0] == "hetsim" else None


MODULES = sorted(p for p in PKG.rglob("*.py") if "_data" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_earlier_stages(path):
    me = path.relative_to(PKG).parts[0].removesuffix(".py")
    if me == "__init__":
        return
    assert me in RANK, f"hetsim/{me} has no place in the layer order; add it to RANK"
    for parts in _imports(path):
        other = _top(parts)
        if other is None or other == me or other == "__init__":
            continue
        assert other in RANK, f"{path}: imports unknown hetsim module {other}"
        assert RANK[other] < RANK[me], (
            f"{path.relative_to(PKG)} imports hetsim.{other}, a later stage "
            f"({other}={RANK[other]} >= {me}={RANK[me]})")
