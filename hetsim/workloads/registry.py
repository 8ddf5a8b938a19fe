"""Every workload by the name users write in scenarios.

One entry per workload: a pydantic params model, a builder ``build(params) -> DiGraph`` and,
optionally, ``estimate(params) -> (tasks, {data: bytes})`` for the size guard
(:mod:`hetsim.workloads.sizing`; without it the build runs under a task budget).
Third-party workloads come in through the entry-point group ``hetsim.workloads`` (each entry
point resolves to a :class:`Workload`); a name that is already taken is an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Callable

import networkx as nx
from pydantic import BaseModel

from ..errors import ConfigError
from ..config.system import SystemSpec
from ..graph import task_budget, validate_graph
from ..loader import validate
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


def _tasks_and_context(count: Callable[[Any], int], plan: Callable | None) -> Callable[[Any], tuple[int, dict[str, int]]]:
    """Adapt a library workload's task-count estimate to the size-guard hook: its tasks and
    the KV cache at its longest context (:func:`hetsim.workloads.lm.context_data`; the rest
    of its resident data is checked when the graph is mapped)."""
    from .lm import CONTEXT_SCAN_TASKS, context_data

    def estimate(p):
        n = count(p)
        return n, (context_data(p, plan) if n <= CONTEXT_SCAN_TASKS else {})
    return estimate


#: name -> (module in this package, params model, builder, description, estimate, estimate
#: counts tasks only). Only the named workload's module is imported, when it is first used:
#: a run pays for one workload module, not thirteen (listing imports them all).
_INDEX: dict[str, tuple[str, str, str, str, str, bool]] = {
    "dsa_decode": ("dsa_decode", "DsaDecodeParams", "build", "DESCRIPTION", "estimate", False),
    "rag_dense": ("rag_dense", "RagDenseParams", "build", "DESCRIPTION", "estimate", False),
    "custom": ("custom", "CustomGraphParams", "build", "DESCRIPTION", "estimate", False),
    # the workload library (model presets, prefill / multi-step decode, micro-batches); their
    # estimates count tasks exactly, and the size guard adds the KV cache at the longest
    # context (the rest of the resident data is checked when the graph is mapped)
    "full_attention": ("full_attention", "FullAttentionParams", "build", "DESCRIPTION", "estimate", True),
    "dsa": ("dsa", "DsaParams", "build", "DESCRIPTION", "estimate", True),
    "seer_attention_r": ("seer_attention_r", "SeerParams", "build", "DESCRIPTION", "estimate", True),
    "quest": ("paged", "QuestParams", "build_quest", "QUEST_DESCRIPTION", "estimate", True),
    "lserve": ("paged", "LServeParams", "build_lserve", "LSERVE_DESCRIPTION", "estimate", True),
    "rag": ("rag", "RagParams", "build", "DESCRIPTION", "estimate", True),
    "moe": ("moe", "MoeParams", "build", "DESCRIPTION", "estimate", True),
    "engram": ("engram", "EngramParams", "build", "DESCRIPTION", "estimate", True),
    "hmt": ("hmt", "HmtParams", "build", "DESCRIPTION", "estimate", True),
    "lact": ("lact", "LactParams", "build", "DESCRIPTION", "estimate", True),
    "memagent": ("memagent", "MemAgentParams", "build", "DESCRIPTION", "estimate", True),
}


def _load_builtin(name: str) -> Workload:
    """Import the module of built-in workload *name* and assemble its registry entry."""
    module, params, build, description, estimate, tasks_only = _INDEX[name]
    m = import_module(f"{__package__}.{module}")
    est = getattr(m, estimate)
    repeats = None
    if name == "dsa_decode":  # layers chained per decode step: fast-forward can extrapolate
        repeats = Repeats("num_layers", "decode_steps", m.step_params)
    return Workload(name, getattr(m, params), getattr(m, build), getattr(m, description),
                    _tasks_and_context(est, getattr(m, "plan", None)) if tasks_only else est, repeats)


class _Builtins(MutableMapping):
    """The built-in workloads by name, each loaded on first access (names need no import)."""

    def __init__(self, names) -> None:
        self._names = list(names)
        self._loaded: dict[str, Workload] = {}

    def __getitem__(self, name: str) -> Workload:
        if name not in self._loaded:
            if name not in self._names:
                raise KeyError(name)
            self._loaded[name] = _load_builtin(name)
        return self._loaded[name]

    def __setitem__(self, name: str, wl: Workload) -> None:  # tests swap an entry
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = wl

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


_BUILTIN = _Builtins(_INDEX)


class _Registry(Mapping):
    """Built-ins (loaded lazily) plus the loaded plug-ins, read as one mapping."""

    def __init__(self, plugins: dict[str, Workload]) -> None:
        self._plugins = plugins

    def __getitem__(self, name: str) -> Workload:
        if name in self._plugins:
            return self._plugins[name]
        return _BUILTIN[name]

    def __iter__(self) -> Iterator[str]:
        yield from _BUILTIN
        yield from self._plugins

    def __len__(self) -> int:
        return len(_BUILTIN) + len(self._plugins)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins or name in _BUILTIN


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    """Installed plug-ins (scanning package metadata is slow: once per process)."""
    return tuple(entry_points(group="hetsim.workloads"))


def workloads() -> Mapping[str, Workload]:
    """Built-in and plug-in workloads by name (a built-in's module is imported when read)."""
    plugins: dict[str, Workload] = {}
    for ep in _plugins():
        if ep.name in _BUILTIN or ep.name in plugins:
            raise ConfigError(f"plug-in workload {ep.name!r} ({ep.value}) clashes with an existing one")
        plugins[ep.name] = ep.load()
    return _Registry(plugins)


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
