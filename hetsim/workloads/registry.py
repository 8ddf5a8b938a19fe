"""Every workload by the name users write in scenarios.

One entry per workload: a pydantic params model and a builder ``build(params) -> DiGraph``.
Third-party workloads come in through the entry-point group ``hetsim.workloads`` (each entry
point resolves to a :class:`Workload`); a name that is already taken is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

import networkx as nx
from pydantic import BaseModel

from ..errors import ConfigError
from ..graph import validate_graph
from ..loader import validate
from . import (custom, dsa, dsa_decode, engram, full_attention, hmt, lact, memagent, moe, paged, rag,
               rag_dense, seer_attention_r)


@dataclass(frozen=True)
class Workload:
    """A registered workload."""

    name: str
    params: type[BaseModel]
    build: Callable[[Any], nx.DiGraph]
    description: str


_BUILTIN = {
    "dsa_decode": Workload("dsa_decode", dsa_decode.DsaDecodeParams, dsa_decode.build,
                           dsa_decode.DESCRIPTION),
    "rag_dense": Workload("rag_dense", rag_dense.RagDenseParams, rag_dense.build,
                          rag_dense.DESCRIPTION),
    "custom": Workload("custom", custom.CustomGraphParams, custom.build, custom.DESCRIPTION),
    # the workload library (model presets, prefill / multi-step decode, micro-batches)
    "full_attention": Workload("full_attention", full_attention.FullAttentionParams, full_attention.build,
                               full_attention.DESCRIPTION),
    "dsa": Workload("dsa", dsa.DsaParams, dsa.build, dsa.DESCRIPTION),
    "seer_attention_r": Workload("seer_attention_r", seer_attention_r.SeerParams, seer_attention_r.build,
                                 seer_attention_r.DESCRIPTION),
    "quest": Workload("quest", paged.QuestParams, paged.build_quest, paged.QUEST_DESCRIPTION),
    "lserve": Workload("lserve", paged.LServeParams, paged.build_lserve, paged.LSERVE_DESCRIPTION),
    "rag": Workload("rag", rag.RagParams, rag.build, rag.DESCRIPTION),
    "moe": Workload("moe", moe.MoeParams, moe.build, moe.DESCRIPTION),
    "engram": Workload("engram", engram.EngramParams, engram.build, engram.DESCRIPTION),
    "hmt": Workload("hmt", hmt.HmtParams, hmt.build, hmt.DESCRIPTION),
    "lact": Workload("lact", lact.LactParams, lact.build, lact.DESCRIPTION),
    "memagent": Workload("memagent", memagent.MemAgentParams, memagent.build, memagent.DESCRIPTION),
}


def workloads() -> dict[str, Workload]:
    """Built-in and plug-in workloads by name."""
    out = dict(_BUILTIN)
    for ep in entry_points(group="hetsim.workloads"):
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
