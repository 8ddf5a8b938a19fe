"""Every workload by the name users write in scenarios.

One entry per workload: a pydantic params model and a builder ``build(params) -> DiGraph``.
Third-party workloads come in through the entry-point group ``hetsim.workloads`` (each entry
point resolves to a :class:`Workload`); a name that is already taken is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Callable

import networkx as nx
from pydantic import BaseModel

from ..errors import ConfigError
from ..graph import validate_graph
from ..loader import validate
from . import custom, dsa_decode, rag_dense


@dataclass(frozen=True)
class Repeats:
    """How a workload's graph repeats, so a long run can be fast-forwarded.

    ``blocks`` names the integer parameter that counts identical blocks chained one after
    the other (e.g. ``num_layers``: layer i + 1 starts from layer i's output). ``steps``
    optionally names the parameter that counts steps of such chains (e.g. ``decode_steps``),
    and ``step_params(params, t)`` returns the parameters of step ``t`` alone, with whatever
    grows from step to step (the context) already advanced.
    """

    blocks: str
    steps: str | None = None
    step_params: Callable[[dict, int], dict] | None = None


@dataclass(frozen=True)
class Workload:
    """A registered workload."""

    name: str
    params: type[BaseModel]
    build: Callable[[Any], nx.DiGraph]
    description: str
    repeats: Repeats | None = None


_BUILTIN = {
    "dsa_decode": Workload("dsa_decode", dsa_decode.DsaDecodeParams, dsa_decode.build,
                           dsa_decode.DESCRIPTION,
                           Repeats("num_layers", "decode_steps", dsa_decode.step_params)),
    "rag_dense": Workload("rag_dense", rag_dense.RagDenseParams, rag_dense.build,
                          rag_dense.DESCRIPTION),
    "custom": Workload("custom", custom.CustomGraphParams, custom.build, custom.DESCRIPTION),
}


@lru_cache(maxsize=None)
def _plugins(group: str) -> tuple:
    """Entry points of *group*, scanned once per process (a scan costs ~20 ms; sweeps ask per run)."""
    return tuple(entry_points(group=group))


def workloads() -> dict[str, Workload]:
    """Built-in and plug-in workloads by name."""
    out = dict(_BUILTIN)
    for ep in _plugins("hetsim.workloads"):
        if ep.name in out:
            raise ConfigError(f"plug-in workload {ep.name!r} ({ep.value}) clashes with an existing one")
        out[ep.name] = ep.load()
    return out


def build_workload(name: str, params: dict, *, file: str | None = None) -> nx.DiGraph:
    """Validate *params* for workload *name* and return its validated task graph."""
    reg = workloads()
    if name not in reg:
        raise ConfigError(f"unknown workload {name!r}; known: {', '.join(sorted(reg))}",
                          file=file, field="workload.name")
    wl = reg[name]
    p = validate(wl.params, params, file=file, prefix="workload.params")
    return validate_graph(wl.build(p))
