"""Load GPU software stacks (``device_models/stacks/<name>.yaml``; see
:mod:`hetsim.config.stack`)."""

from __future__ import annotations

from functools import lru_cache

from .. import catalog
from ..config.stack import StackSpec
from ..errors import ConfigError


@lru_cache(maxsize=None)
def load_stack(name: str) -> StackSpec:
    """Validate stack *name*, or raise ConfigError naming the file and field."""
    from ..loader import validate

    known = catalog.preset_names("stacks")
    if name not in known:
        raise ConfigError(f"unknown GPU software stack {name!r}; known: {', '.join(known) or 'none'}",
                          field="stack")
    p = catalog.load_preset("stacks", name)
    return validate(StackSpec, {**p.raw, "sources": p.sources}, file=str(p.path))


def stack_names() -> list[str]:
    """Names of the stacks found under ``device_models/stacks``."""
    return catalog.preset_names("stacks")
