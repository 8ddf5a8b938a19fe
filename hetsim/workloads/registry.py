"""Every workload by the name users write in scenarios.

One entry per workload: a pydantic params model, a builder ``build(params) -> DiGraph`` and,
optionally, ``estimate(params) -> (tasks, {data: bytes})`` for the size guard
(:mod:`hetsim.workloads.sizing`; without it the build runs under a task budget).
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
from ..config.system import SystemSpec
from ..graph import task_budget, validate_graph
from ..loader import validate
from . import (custom, dsa, dsa_decode, engram, full_attention, hmt, lact, memagent, moe, paged, rag,
               rag_dense, seer_attention_r)
from .sizing import check_size


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
    estimate: Callable[[Any], tuple[int, dict[str, int]]] | None = None
    repeats: Repeats | None = None


def _tasks_only(count: Callable[[Any], int]) -> Callable[[Any], tuple[int, dict[str, int]]]:
    """Adapt a workload's task-count estimate to the size-guard hook (no resident-data sizes)."""
    def estimate(p):
        return count(p), {}
    return estimate


_BUILTIN = {
    "dsa_decode": Workload("dsa_decode", dsa_decode.DsaDecodeParams, dsa_decode.build,
                           dsa_decode.DESCRIPTION, dsa_decode.estimate,
                           Repeats("num_layers", "decode_steps", dsa_decode.step_params)),
    "rag_dense": Workload("rag_dense", rag_dense.RagDenseParams, rag_dense.build,
                          rag_dense.DESCRIPTION, rag_dense.estimate),
    "custom": Workload("custom", custom.CustomGraphParams, custom.build, custom.DESCRIPTION, custom.estimate),
    # the workload library (model presets, prefill / multi-step decode, micro-batches); their
    # estimates count tasks exactly (resident data is checked when the graph is mapped)
    "full_attention": Workload("full_attention", full_attention.FullAttentionParams, full_attention.build,
                               full_attention.DESCRIPTION, _tasks_only(full_attention.estimate)),
    "dsa": Workload("dsa", dsa.DsaParams, dsa.build, dsa.DESCRIPTION, _tasks_only(dsa.estimate)),
    "seer_attention_r": Workload("seer_attention_r", seer_attention_r.SeerParams, seer_attention_r.build,
                                 seer_attention_r.DESCRIPTION, _tasks_only(seer_attention_r.estimate)),
    "quest": Workload("quest", paged.QuestParams, paged.build_quest, paged.QUEST_DESCRIPTION,
                      _tasks_only(paged.estimate)),
    "lserve": Workload("lserve", paged.LServeParams, paged.build_lserve, paged.LSERVE_DESCRIPTION,
                       _tasks_only(paged.estimate)),
    "rag": Workload("rag", rag.RagParams, rag.build, rag.DESCRIPTION, _tasks_only(rag.estimate)),
    "moe": Workload("moe", moe.MoeParams, moe.build, moe.DESCRIPTION, _tasks_only(moe.estimate)),
    "engram": Workload("engram", engram.EngramParams, engram.build, engram.DESCRIPTION,
                       _tasks_only(engram.estimate)),
    "hmt": Workload("hmt", hmt.HmtParams, hmt.build, hmt.DESCRIPTION, _tasks_only(hmt.estimate)),
    "lact": Workload("lact", lact.LactParams, lact.build, lact.DESCRIPTION, _tasks_only(lact.estimate)),
    "memagent": Workload("memagent", memagent.MemAgentParams, memagent.build, memagent.DESCRIPTION,
                         _tasks_only(memagent.estimate)),
}


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    """Installed plug-ins (scanning package metadata is slow: once per process)."""
    return tuple(entry_points(group="hetsim.workloads"))


def workloads() -> dict[str, Workload]:
    """Built-in and plug-in workloads by name."""
    out = dict(_BUILTIN)
    for ep in _plugins():
        if ep.name in out:
            raise ConfigError(f"plug-in workload {ep.name!r} ({ep.value}) clashes with an existing one")
        out[ep.name] = ep.load()
    return out


def workload_params(name: str, params: dict, *, file: str | None = None):
    """Return ``(Workload, validated params)`` for workload *name*."""
    reg = workloads()
    if name not in reg:
        raise ConfigError(f"unknown workload {name!r}; known: {', '.join(sorted(reg))}",
                          file=file, field="workload.name")
    wl = reg[name]
    return wl, validate(wl.params, params, file=file, prefix="workload.params")


def build_workload(name: str, params: dict, *, file: str | None = None, system: SystemSpec | None = None,
                   max_tasks: int | None = None) -> nx.DiGraph:
    """Validate *params* for workload *name* and return its validated task graph.

    With *system* and *max_tasks* the size guard runs first: the workload's estimate (or, if
    it has none, a build under a task budget) is checked against the memories and the limit.
    """
    wl, p = workload_params(name, params, file=file)
    if system is not None and max_tasks is not None and wl.estimate is not None:
        tasks, data = wl.estimate(p)
        check_size(tasks, data, system, max_tasks, file=file)
    if max_tasks is not None and wl.estimate is None:
        with task_budget(max_tasks):
            g = wl.build(p)
    else:
        g = wl.build(p)
    return validate_graph(g)
