"""Scenario files to validated :class:`~hetsim.config.scenario.Scenario` objects.

This is where user input meets the typed configuration: YAML is read, device and link
presets are resolved and merged with overrides, and every pydantic error is turned into one
:class:`~hetsim.errors.ConfigError` line naming the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import catalog
from .config.device import DeviceSpec
from .config.link import LinkSpec
from .config.scenario import Scenario
from .config.system import LinkUse, SystemSpec
from .errors import ConfigError


def format_validation_error(err: ValidationError, prefix: str = "") -> tuple[str, str]:
    """Return ``(field, message)`` for the first error of *err* (one line)."""
    errors = err.errors(include_url=False)
    first = errors[0]
    loc = [str(x) if str(x).isidentifier() or isinstance(x, int) or str(x).replace("-", "").isalnum()
           else repr(x) for x in first.get("loc", ()) if not str(x).startswith("function-")]
    # drop pydantic's union-branch tags (e.g. 'alpha_beta') that are not field names
    field = ".".join(([prefix] if prefix else []) + loc)
    msg = first.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first.get("type") == "extra_forbidden":
        msg = "unknown field (not allowed here)"
    elif first.get("type") == "missing":
        msg = "required field is missing"
    msg = msg.replace("Input should be", "must be")
    more = len(errors) - 1
    if more:
        msg += f" (and {more} more error{'s' if more > 1 else ''})"
    return field, msg


def validate(model: type[BaseModel], data: Any, *, file: str | None, prefix: str = ""):
    """Validate *data* as *model*, raising ConfigError with file and field on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        field, msg = format_validation_error(e, prefix)
        raise ConfigError(msg, file=file, field=field or None) from None


def deep_merge(base: dict, over: dict) -> dict:
    """Return *base* updated recursively with *over* (neither is modified)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "value" not in v:
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_device_preset(name: str) -> DeviceSpec:
    """Validate device preset *name*."""
    p = catalog.load_preset("devices", name)
    return validate(DeviceSpec, p.raw, file=str(p.path))


def load_link_preset(name: str) -> LinkSpec:
    """Validate link preset *name*."""
    p = catalog.load_preset("links", name)
    return validate(LinkSpec, p.raw, file=str(p.path))


def _expect_mapping(obj: Any, file: str, field: str) -> dict:
    if not isinstance(obj, dict):
        raise ConfigError(f"must be a mapping, got {type(obj).__name__}", file=file, field=field)
    return obj


def _anchor_paths(value: Any, base: Path) -> Any:
    """Make relative paths in a list relative to *base* (other values pass to validation)."""
    if not isinstance(value, (list, tuple)):
        return value
    return [str((base / v).resolve()) if isinstance(v, str) and not Path(v).is_absolute() else v
            for v in value]


def _anchor_tables(dev: DeviceSpec, base: Path) -> DeviceSpec:
    """Make relative ``cost_tables`` paths relative to the file that named them."""
    if not dev.cost_tables:
        return dev
    return dev.model_copy(update={"cost_tables": tuple(_anchor_paths(list(dev.cost_tables), base))})


def _resolve_device(entry: Any, file: str, field: str) -> DeviceSpec:
    entry = _expect_mapping(entry, file, field)
    if "preset" not in entry:
        return _anchor_tables(validate(DeviceSpec, entry, file=file, prefix=field), Path(file).parent)
    unknown = set(entry) - {"preset", "name", "overrides"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} next to 'preset'; allowed: "
                          "preset, name, overrides", file=file, field=field)
    if not isinstance(entry["preset"], str):
        raise ConfigError("must be a preset name", file=file, field=f"{field}.preset")
    try:
        p = catalog.load_preset("devices", entry["preset"])
    except ConfigError as e:
        raise ConfigError(e.detail, file=file, field=f"{field}.preset") from None
    overrides = _expect_mapping(entry.get("overrides", {}) or {}, file, f"{field}.overrides")
    raw = deep_merge(p.raw, overrides)
    raw["name"] = entry.get("name", p.name)
    # tables named in the scenario are relative to it; those of the preset to the preset file
    base = Path(file).parent if "cost_tables" in overrides else p.path.parent
    raw["cost_tables"] = _anchor_paths(raw.get("cost_tables", []), base)
    try:
        return DeviceSpec.model_validate(raw)
    except ValidationError as e:
        loc0 = str(e.errors()[0]["loc"][0]) if e.errors()[0]["loc"] else ""
        if loc0 in overrides or loc0 == "name":
            f, msg = format_validation_error(e, f"{field}.overrides" if loc0 != "name" else field)
            raise ConfigError(msg, file=file, field=f) from None
        f, msg = format_validation_error(e)
        raise ConfigError(msg, file=str(p.path), field=f) from None


def _resolve_link(entry: Any, file: str, field: str, index: int) -> LinkUse:
    entry = _expect_mapping(entry, file, field)
    unknown = set(entry) - {"preset", "spec", "name", "between", "overrides"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}; allowed: preset or spec, between, "
                          "name, overrides", file=file, field=field)
    between = entry.get("between")
    if (not isinstance(between, (list, tuple)) or len(between) != 2
            or not all(isinstance(x, str) for x in between)):
        raise ConfigError("must be a list of two device names", file=file, field=f"{field}.between")
    if "preset" in entry:
        try:
            p = catalog.load_preset("links", str(entry["preset"]))
        except ConfigError as e:
            raise ConfigError(e.detail, file=file, field=f"{field}.preset") from None
        raw = deep_merge(p.raw, _expect_mapping(entry.get("overrides", {}) or {}, file,
                                                f"{field}.overrides"))
        spec = validate(LinkSpec, raw, file=file, prefix=f"{field}.overrides")
    elif "spec" in entry:
        spec = validate(LinkSpec, entry["spec"], file=file, prefix=f"{field}.spec")
    else:
        raise ConfigError("needs 'preset' (a link preset name) or 'spec' (an inline link)",
                          file=file, field=field)
    name = entry.get("name") or f"{spec.name}:{between[0]}-{between[1]}"
    return LinkUse(name=str(name), between=(between[0], between[1]), spec=spec)


def resolve_system(raw: Any, file: str, field: str = "system") -> SystemSpec:
    """Resolve presets in a raw ``system`` mapping and validate it."""
    raw = _expect_mapping(raw, file, field)
    unknown = set(raw) - {"devices", "links"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}; allowed: devices, links",
                          file=file, field=field)
    devs = raw.get("devices")
    if not isinstance(devs, list) or not devs:
        raise ConfigError("must be a non-empty list of devices", file=file, field=f"{field}.devices")
    devices = [_resolve_device(d, file, f"{field}.devices.{i}") for i, d in enumerate(devs)]
    links_raw = raw.get("links", []) or []
    if not isinstance(links_raw, list):
        raise ConfigError("must be a list", file=file, field=f"{field}.links")
    links = [_resolve_link(lk, file, f"{field}.links.{i}", i) for i, lk in enumerate(links_raw)]
    try:
        return SystemSpec(devices=tuple(devices), links=tuple(links))
    except ValidationError as e:
        f, msg = format_validation_error(e, field)
        raise ConfigError(msg, file=file, field=f) from None


def scenario_from_dict(raw: Any, file: str) -> Scenario:
    """Validate a raw scenario mapping read from *file*."""
    raw = _expect_mapping(raw, file, "(top level)")
    data = dict(raw)
    data.setdefault("name", Path(file).stem)
    if "system" not in data:
        raise ConfigError("required field is missing", file=file, field="system")
    system = resolve_system(data.pop("system"), file)
    data["system"] = system
    return validate(Scenario, data, file=file)


def resolve_scenario_path(arg: str | None) -> Path:
    """Return the scenario file for a CLI argument (a path or a built-in scenario name)."""
    if arg is None:
        arg = "default"
    p = Path(arg)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    builtin = catalog.scenario_dir() / f"{arg}.yaml"
    if builtin.exists():
        return builtin
    known = sorted(x.stem for x in catalog.scenario_dir().glob("*.yaml"))
    raise ConfigError(f"no scenario file or built-in scenario {arg!r}; built-in: {', '.join(known)}")


def load_scenario(arg: str | Path | None) -> Scenario:
    """Read and validate a scenario file (or built-in scenario name)."""
    path = resolve_scenario_path(str(arg) if arg is not None else None)
    return scenario_from_dict(catalog.read_yaml(path), str(path))
