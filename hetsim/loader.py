"""Scenario files to validated :class:`~hetsim.config.scenario.Scenario` objects.

This is where user input meets the typed configuration: YAML is read, device and link
presets are resolved and merged with overrides, and every pydantic error is turned into one
:class:`~hetsim.errors.ConfigError` line naming the file, the field and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from . import catalog, inputs
from .config.device import DeviceSpec
from .config.link import LinkSpec
from .config.scenario import Scenario
from .config.system import LinkUse, SystemSpec
from .errors import ConfigError


def _typo_hint(errors: list[dict]) -> tuple[list, str] | None:
    """An unknown key that is a near miss of a missing one (``workloads`` for ``workload``)."""
    missing = {tuple(e["loc"][:-1]): [] for e in errors if e.get("type") == "missing" and e.get("loc")}
    for e in errors:
        if e.get("type") == "missing" and e.get("loc"):
            missing[tuple(e["loc"][:-1])].append(str(e["loc"][-1]))
    for e in errors:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "extra_forbidden" and loc and loc[:-1] in missing:
            close = difflib.get_close_matches(str(loc[-1]), missing[loc[:-1]], n=1, cutoff=0.6)
            if close:
                return list(loc), f"unknown field; did you mean {close[0]!r}?"
    return None


_TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "float_type", "float_parsing", "dict_type",
                "model_type", "model_attributes_type", "list_type", "tuple_type", "bool_type",
                "bool_parsing", "literal_error", "enum"}


def _type_name(value: Any) -> str:
    """How a YAML value reads to a user (``null``, ``text 'abc'``, ``a list``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return {dict: "a mapping", list: "a list", tuple: "a list"}.get(type(value), type(value).__name__)


def _loc_text(loc) -> list[str]:
    return [str(x) if str(x).isidentifier() or isinstance(x, int) or str(x).replace("-", "").isalnum()
            else repr(x) for x in loc if not str(x).startswith("function-")]


def format_validation_error(err: ValidationError, prefix: str = "",
                            model: type[BaseModel] | None = None) -> tuple[str, str]:
    """Return ``(field, message)`` for the first error of *err* (one line).

    An unknown key that is a near miss of a missing required key is reported alone, as a
    typo with the hint, since the missing key is the same mistake.
    """
    errors = err.errors(include_url=False)
    hint = _typo_hint(errors)
    if hint:
        loc, msg = hint
        return ".".join(([prefix] if prefix else []) + _loc_text(loc)), msg
    first = errors[0]
    field = ".".join(([prefix] if prefix else []) + _loc_text(first.get("loc", ())))
    msg = first.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first.get("type") == "extra_forbidden":
        msg = "unknown field (not allowed here)"
        if model is not None and len(first.get("loc", ())) == 1:
            close = difflib.get_close_matches(str(first["loc"][0]), list(model.model_fields), n=1)
            msg = (f"unknown field; did you mean {close[0]!r}?" if close
                   else f"{msg}; allowed: {', '.join(model.model_fields)}")
    elif first.get("type") == "missing":
        msg = "required field is missing"
    elif first.get("type") == "int_parsing_size":  # pydantic: "Unable to parse input string ..."
        msg = f"must be an integer of at most 4300 digits, got {_type_name(first.get('input'))}"
    msg = msg.replace("Input should be", "must be")
    msg = re.sub(r"must be a valid dictionary or instance of \w+", "must be a mapping", msg)
    if first.get("type") in _TYPE_ERRORS and "input" in first:
        msg += f", got {_type_name(first['input'])}"
    more = len(errors) - 1
    if more:
        msg += f" (and {more} more error{'s' if more > 1 else ''})"
    return field, msg


def _numeric_kind(ann: Any) -> type | None:
    """int or float when *ann* is a plain (optional) number type, else None."""
    if ann in (int, float):
        return ann
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1 and args[0] in (int, float):
            return args[0]
        if args and all(a in (int, float) for a in args):
            return float
    return None


def _number(value: Any, kind: type, field: str, file: str | None) -> Any:
    """Reject booleans where a number is expected; read '1e12' text as the number it is."""
    if isinstance(value, bool):
        raise ConfigError(f"must be {'an integer' if kind is int else 'a number'}, got a boolean "
                          f"({str(value).lower()})", file=file, field=field)
    if isinstance(value, str) and _NUMBER_TEXT.match(value.strip()):
        return float(value)
    return value


_NUMBER_TEXT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _strict_numbers(model: type[BaseModel], data: Any, file: str | None, prefix: str) -> Any:
    """Return *data* with number fields checked as :func:`_number` says (recursively)."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, f in model.model_fields.items():
        key = f.alias if f.alias and f.alias in out else name
        if key not in out:
            continue
        field = f"{prefix}.{key}" if prefix else str(key)
        out[key] = _strict_value(f.annotation, out[key], file, field)
    return out


def _is_flag(ann: Any) -> bool:
    """True when *ann* is ``bool`` or an optional ``bool``."""
    if ann is bool:
        return True
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        return args == [bool]
    return False


def _strict_value(ann: Any, value: Any, file: str | None, field: str) -> Any:
    kind = _numeric_kind(ann)
    if kind is not None:
        return _number(value, kind, field, file)
    if _is_flag(ann) and value is not None and not isinstance(value, bool):
        # pydantic would read 0, 1, "yes" or "off" as a flag: a number where a flag is
        # expected is as likely a misplaced value as a flag, so only true and false pass
        raise ConfigError(f"must be true or false, got {_type_name(value)}", file=file, field=field)
    origin, args = get_origin(ann), get_args(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return _strict_numbers(ann, value, file, field)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _strict_value(args[1], v, file, f"{field}.{k}") for k, v in value.items()}
    if origin in (tuple, list) and args and isinstance(value, list):
        item = args[0]
        return [_strict_value(item, v, file, f"{field}.{i}") for i, v in enumerate(value)]
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            return _strict_value(models[0], value, file, field)
    return value


def validate(model: type[BaseModel], data: Any, *, file: str | None, prefix: str = ""):
    """Validate *data* as *model*, raising ConfigError with file and field on failure.

    Booleans are never taken for numbers (pydantic would read ``true`` as 1).
    """
    data = _strict_numbers(model, data, file, prefix)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        field, msg = format_validation_error(e, prefix, model)
        raise ConfigError(msg, file=file, field=field or None) from None


def deep_merge(base: dict, over: dict) -> dict:
    """Return *base* updated recursively with *over* (neither is modified).

    A ``null`` in *over* removes that key from *base* (e.g. a kernel the card should not host:
    ``overrides: {fpga: {kernels: {bm25_topk: null}}}``).
    """
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None and isinstance(out, dict) and k in out:
            del out[k]
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and "value" not in v:
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
    if obj is None and field == "(top level)":
        raise ConfigError("the file is empty; a scenario is a mapping with system, workload "
                          "(and optionally name, mapping, run, seed)", file=file)
    if not isinstance(obj, dict):
        raise ConfigError(f"must be a mapping, got {_type_name(obj)}", file=file, field=field)
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
        raise ConfigError(f"unknown keys {sorted(unknown, key=str)} next to 'preset'; allowed: "
                          "preset, name, overrides", file=file, field=field)
    if not isinstance(entry["preset"], str):
        raise ConfigError("must be a preset name", file=file, field=f"{field}.preset")
    try:
        p = catalog.load_preset("devices", entry["preset"])
    except ConfigError as e:
        if e.file or e.field:  # a broken preset file or HETSIM_DEVICE_MODELS: say so
            raise
        raise ConfigError(e.detail, file=file, field=f"{field}.preset") from None
    overrides = _expect_mapping(entry.get("overrides", {}) or {}, file, f"{field}.overrides")
    if "name" in overrides:  # it would be replaced by the entry's name below, silently
        raise ConfigError("a device's name goes next to 'preset' (name: ...), not in overrides",
                          file=file, field=f"{field}.overrides.name")
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
        raise ConfigError(f"unknown keys {sorted(unknown, key=str)}; allowed: preset or spec, between, "
                          "name, overrides", file=file, field=field)
    between = entry.get("between")
    if (not isinstance(between, (list, tuple)) or len(between) != 2
            or not all(isinstance(x, str) for x in between)):
        raise ConfigError("must be a list of two device names", file=file, field=f"{field}.between")
    if "preset" in entry and "spec" in entry:
        raise ConfigError("give 'preset' (a link preset name) or 'spec' (an inline link), not both",
                          file=file, field=field)
    if "preset" in entry:
        try:
            p = catalog.load_preset("links", str(entry["preset"]))
        except ConfigError as e:
            if e.file or e.field:
                raise
            raise ConfigError(e.detail, file=file, field=f"{field}.preset") from None
        overrides = _expect_mapping(entry.get("overrides", {}) or {}, file, f"{field}.overrides")
        raw = deep_merge(p.raw, overrides)
        try:
            spec = validate(LinkSpec, raw, file=file, prefix=f"{field}.overrides")
        except ConfigError as e:
            # a field the overrides do not touch comes from the preset file: blame that file
            top = (e.field or "").removeprefix(f"{field}.overrides").lstrip(".").split(".")[0]
            if top and top not in {str(k) for k in overrides}:
                validate(LinkSpec, p.raw, file=str(p.path))
            raise
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
        raise ConfigError(f"unknown keys {sorted(unknown, key=str)}; allowed: devices, links",
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


def scenario_from_dict(raw: Any, file: str, *, system: SystemSpec | None = None) -> Scenario:
    """Validate a raw scenario mapping read from *file*.

    *system*, when given, is ``resolve_system(raw["system"], file)`` already made by the
    caller (a sweep whose points share one system resolves its presets once, not per point).
    """
    raw = _expect_mapping(raw, file, "(top level)")
    data = dict(raw)
    data.setdefault("name", Path(file).stem)
    if "system" not in data:
        raise ConfigError("required field is missing", file=file, field="system")
    raw_system = data.pop("system")
    system = system if system is not None else resolve_system(raw_system, file)
    data["system"] = system
    return validate(Scenario, data, file=file)


def resolve_scenario_path(arg: str | None) -> Path:
    """Return the scenario file for a CLI argument (a path or a built-in scenario name)."""
    if arg is None:
        arg = "default"
    if not str(arg).strip():  # Path("") is ".", which was reported as a directory
        known = sorted(x.stem for x in catalog.scenario_dir().glob("*.yaml"))
        raise ConfigError(f"is empty; name a scenario file or a built-in scenario ({', '.join(known)})",
                          field="scenario")
    p = Path(arg)
    if p.suffix in (".yaml", ".yml") or inputs.exists(p, "scenario"):
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
