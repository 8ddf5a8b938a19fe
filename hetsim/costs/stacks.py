"""Load GPU software stacks (``device_models/stacks/<name>.yaml``; see
:mod:`hetsim.config.stack`)."""

from __future__ import annotations

from .. import catalog
from ..config.stack import StackSpec
from ..errors import ConfigError


#: file path -> (the catalog's preset object, its validated spec). The catalog hands out the
#: same preset object while the file (and HETSIM_DEVICE_MODELS) is unchanged, so a spec is
#: reused exactly as long as it describes the file the name resolves to now.
_VALIDATED: dict[str, tuple[object, StackSpec]] = {}


def load_stack(name: str) -> StackSpec:
    """Validate stack *name*, or raise ConfigError naming the file and field."""
    from ..loader import validate

    known = catalog.preset_names("stacks")
    if name not in known:
        raise ConfigError(f"unknown GPU software stack {name!r}; known: {', '.join(known) or 'none'}",
                          field="stack")
    p = catalog.load_preset("stacks", name)
    cached = _VALIDATED.get(str(p.path))
    if cached is not None and cached[0] is p:
        return cached[1]
    spec = validate(StackSpec, {**p.raw, "sources": p.sources}, file=str(p.path))
    _VALIDATED[str(p.path)] = (p, spec)
    return spec


def stack_names() -> list[str]:
    """Names of the stacks found under ``device_models/stacks``."""
    return catalog.preset_names("stacks")
