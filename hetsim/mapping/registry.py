"""Every mapping policy by the name users write (scenario ``mapping.policy``, ``--mapping``).

Plug-ins come in through the entry-point group ``hetsim.mappings``; a clashing name is an
error.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import Callable

from ..errors import ConfigError, MappingError
from .base import Mapping, check_mapping, first_of_kind
from .fpga_max import fpga_max
from .gpu_only import gpu_only, single
from .hetero import hetero

Policy = Callable[..., Mapping]


def _lazy(module: str, attr: str) -> Policy:
    """Policy *attr* of *module*, imported on its first call (the searches are rarely used)."""
    def policy(*args, **kwargs) -> Mapping:
        return getattr(import_module(f"{__package__}.{module}"), attr)(*args, **kwargs)

    policy.__name__ = policy.__qualname__ = attr
    return policy


heft = _lazy("heft", "heft")
optimal = _lazy("search", "optimal")

_BUILTIN: dict[str, Policy] = {
    "gpu-only": gpu_only,
    "hetero": hetero,
    "fpga-max": fpga_max,
    "heft": heft,
    "optimal": optimal,
    "single": single,
}


@lru_cache(maxsize=1)
def _plugins() -> tuple:
    """Installed plug-ins (scanning package metadata is slow: once per process)."""
    return tuple(entry_points(group="hetsim.mappings"))


def policies() -> dict[str, Policy]:
    """Built-in and plug-in policies by name."""
    out = dict(_BUILTIN)
    for ep in _plugins():
        if ep.name in out:
            raise ConfigError(f"plug-in mapping {ep.name!r} ({ep.value}) clashes with an existing one")
        out[ep.name] = ep.load()
    return out


def params_model(name: str):
    """The params model of policy *name* (None for a plug-in that declares none)."""
    from .params import BUILTIN_PARAMS

    if name in BUILTIN_PARAMS:
        return BUILTIN_PARAMS[name]
    return getattr(policies().get(name), "params_model", None)


def check_params(name: str, params: dict | None, *, file: str | None = None,
                 field: str = "mapping.params") -> None:
    """Reject unknown keys and wrong types in the params of policy *name*."""
    from ..loader import validate

    model = params_model(name)
    if model is not None:
        validate(model, dict(params or {}), file=file, prefix=field)


def check_devices(name: str, system, params: dict | None = None) -> None:
    """Raise MappingError when policy *name* cannot be placed on *system* at all.

    Why: ``hetero`` on a system without an FPGA fails for every graph; a sweep learns that
    before its first run instead of recording one failure per point. The devices a policy
    needs come from its params model's ``placed_on`` (a plug-in without one is not checked).
    """
    model = params_model(name)
    params = dict(params or {})
    check_named_devices(name, system, params)
    for key, kind in getattr(model, "placed_on", {}).items():
        if params.get(key) is None and kind is not None:
            first_of_kind(system, kind)


def check_named_devices(name: str, system, params: dict | None = None, *,
                        file: str | None = None, field: str = "mapping.params") -> None:
    """Raise MappingError naming ``mapping.params.KEY`` when a param of policy *name* names a
    device the system lacks (or one of the wrong kind).

    Why: the policy found it only when it ran, and the error then named the whole
    ``mapping`` (and the scenario file even when a ``--set`` flag had put the name there);
    a list param (``heft``'s ``devices``) with an unknown name was silently ignored.
    """
    model = params_model(name)
    params = dict(params or {})
    for key, kind in getattr(model, "placed_on", {}).items():
        given = params.get(key)
        many = isinstance(given, (list, tuple))
        for i, dev in enumerate(given if many else [given]):
            if dev is None:
                continue
            where = f"{field}.{key}" + (f".{i}" if many else "")
            try:
                if kind is not None:
                    first_of_kind(system, kind, dev)
                elif dev not in system.device_names:
                    raise MappingError(f"unknown device {dev!r}; devices: {', '.join(system.device_names)}")
            except MappingError as e:
                raise MappingError(e.detail, file=file, field=where) from None


def map_graph(name: str, graph, system, params: dict | None = None, *, evaluate=None) -> Mapping:
    """Run policy *name* and check its mapping.

    *evaluate* (Mapping -> result) lets search policies simulate candidates; the simulation
    layer passes it in, so policies never import the engine.
    """
    reg = policies()
    if name not in reg:
        raise ConfigError(f"unknown mapping policy {name!r}; known: {', '.join(sorted(reg))}",
                          field="mapping.policy")
    check_params(name, params)
    m = reg[name](graph, system, dict(params or {}), evaluate=evaluate)
    check_mapping(graph, system, m)
    return m
