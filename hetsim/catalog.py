"""Device and link presets, read from the data files under ``device_models/``.

No device number lives in code. Presets are YAML files:
``device_models/devices/<name>.yaml`` and ``device_models/links/<name>.yaml``. Each file may
carry a ``sources`` map (id -> citation) that its numbers refer to. Extra directories can be
added with the environment variable ``HETSIM_DEVICE_MODELS`` (``os.pathsep``-separated); a
preset found there shadows a built-in one of the same name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import inputs
from .errors import ConfigError

_PKG = Path(__file__).resolve().parent


#: the preset folders a device-models directory may hold (a user's may hold only some)
PRESET_KINDS = ("devices", "links", "models", "stacks")


def _builtin_root(kind: str) -> Path:
    """Return the built-in data dir (source tree first, then the installed wheel)."""
    src = _PKG.parent / kind
    if src.is_dir():
        return src
    return _PKG / "_data" / kind


def model_dirs() -> list[Path]:
    """Directories searched for presets, highest priority first."""
    extra = [Path(p) for p in os.environ.get("HETSIM_DEVICE_MODELS", "").split(os.pathsep) if p]
    for d in extra:
        if not d.is_dir():
            raise ConfigError(f"names {str(d)!r}, which is not a directory; set it to directories "
                              f"holding devices/ and links/ (separated by {os.pathsep!r})",
                              field="HETSIM_DEVICE_MODELS")
        if not any((d / kind).is_dir() for kind in PRESET_KINDS):
            # a typo (the devices/ folder itself, or its parent) shadowed nothing, silently
            raise ConfigError(f"names {str(d)!r}, which holds none of "
                              f"{', '.join(k + '/' for k in PRESET_KINDS)}; point it at the folder "
                              "that contains them", field="HETSIM_DEVICE_MODELS")
    return extra + [_builtin_root("device_models")]


def scenario_dir() -> Path:
    """Directory of the built-in scenarios."""
    return _builtin_root("scenarios")


def read_yaml(path: Path) -> Any:
    """Read a YAML file through the input boundary (:func:`hetsim.inputs.read_yaml`)."""
    return inputs.read_yaml(path)


@dataclass(frozen=True)
class Preset:
    """A preset as found on disk: its raw mapping, the file and its cited sources."""

    name: str
    kind: str  # "devices" or "links"
    path: Path
    raw: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)


def _scan(kind: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in reversed(model_dirs()):  # later (higher-priority) dirs overwrite
        d = root / kind
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                found[p.stem] = p
    return found


def preset_names(kind: str) -> list[str]:
    """Sorted names of the presets of *kind* (``devices`` or ``links``)."""
    return sorted(_scan(kind))


def load_preset(kind: str, name: str) -> Preset:
    """Return preset *name* of *kind*, or raise ConfigError listing the known ones."""
    paths = _scan(kind)
    if name not in paths:
        what = "device" if kind == "devices" else "link"
        raise ConfigError(f"unknown {what} preset {name!r}; known: {', '.join(sorted(paths)) or 'none'}")
    return _load(kind, paths[name])


@lru_cache(maxsize=None)
def _load_cached(kind: str, path: str, mtime: float) -> Preset:
    p = Path(path)
    raw = read_yaml(p)
    if not isinstance(raw, dict):
        raise ConfigError("a preset file must be a mapping", file=path)
    raw = dict(raw)
    sources = raw.pop("sources", {}) or {}
    if not isinstance(sources, dict):
        raise ConfigError("'sources' must map ids to citations", file=path, field="sources")
    name = raw.get("name", p.stem)
    if name != p.stem:
        raise ConfigError(f"name {name!r} must equal the file name {p.stem!r}", file=path, field="name")
    raw["name"] = name
    return Preset(name, kind, p, raw, {str(k): str(v) for k, v in sources.items()})


def _load(kind: str, path: Path) -> Preset:
    return _load_cached(kind, str(path), path.stat().st_mtime)
