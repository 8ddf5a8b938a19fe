"""The one input boundary: every file hetsim reads comes in through here.

Why one reader: a user's file can be missing, a directory, unreadable, binary, not UTF-8,
or YAML with a repeated key or YAML-1.1 quirks (``1e12`` read as text). Each of these must
become one :class:`~hetsim.errors.ConfigError` line that names the file, never a traceback,
and every kind of input (scenarios, device and link files, cost tables, HLS reports, XRT
CSVs, sweep specs) should answer the same way. Parsers downstream get text or plain Python
data and never touch the file system themselves.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

#: Largest input file read (a scenario or table is kilobytes; this only stops accidents
#: such as pointing hetsim at a disk image).
MAX_INPUT_BYTES = 64 * 2**20

# YAML 1.2 floats: PyYAML (YAML 1.1) reads ``1e12`` and ``1E-3`` as strings because they
# lack a dot. Numbers written that way are numbers everywhere a number is expected.
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
                        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                        |[-+]?\.(?:inf|Inf|INF)
                        |\.(?:nan|NaN|NAN))$""", re.X)


_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10x faster


#: integers as YAML 1.2 reads them, plus 1.1's unambiguous 0b and digit separators. YAML 1.1's
#: sexagesimal (``1:30`` read as 90) and leading-zero octal (``017`` read as 15) are left out:
#: such text stays text, which a number field parses in base 10 (17) or refuses (``1:30``).
_INT = re.compile(r"""^(?:[-+]?(?:0|[1-9][0-9_]*)
                      |[-+]?0x[0-9a-fA-F_]+
                      |[-+]?0b[01_]+)$""", re.X)


class _Loader(_SAFE):
    """Safe YAML with YAML-1.2 floats, integers and booleans and duplicate keys rejected."""


#: booleans as YAML 1.2 reads them: YAML 1.1 also read yes/no/on/off, so ``fast_forward: on``
#: (a documented value) arrived as a boolean and was refused as one; a flag field refuses such
#: text itself, naming it
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_Loader.yaml_implicit_resolvers = {k: [r for r in v if r[0] not in ("tag:yaml.org,2002:float",
                                                                      "tag:yaml.org,2002:int",
                                                                      "tag:yaml.org,2002:bool")]
                                   for k, v in _SAFE.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))  # before floats:
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))  # "12" is an int


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key (YAML allows it silently; the last one would win)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in seen:
            raise DuplicateKeyError(None, None, f"duplicate key {key!r} (first at line "
                                    f"{seen[key].start_mark.line + 1})", key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_bytes(path: str | Path) -> bytes:
    """Return the bytes of *path*, or raise ConfigError naming the file."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError("is a directory, expected a file", file=str(p))
        _refuse_named_pipe(p)
        with p.open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(p)) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", file=str(p)) from None
    except ValueError:  # a NUL byte in the name: no file can be called that
        raise ConfigError("a file name cannot contain a NUL byte", file=repr(str(p))) from None
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(f"larger than {MAX_INPUT_BYTES // 2**20} MiB; not an input file",
                          file=str(p))
    return data


def _refuse_named_pipe(p: Path) -> None:
    """Refuse a named pipe (FIFO) or socket: opening a FIFO without a writer waits forever
    (``hetsim run fifo.yaml`` hung). A pipe the shell made, ``<(command)`` as ``/dev/fd/N``,
    has its writer and is read as a file."""
    import stat

    try:
        mode = p.stat().st_mode
    except OSError:
        return  # missing or unreadable: the open below says which
    if (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) and not str(p).startswith(("/dev/fd/", "/proc/self/fd/",
                                                                               "/dev/stdin")):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
        raise ConfigError(f"is {kind}, expected a regular file (a pipe without a writer would wait "
                          "forever; use <(command) or a file)", file=str(p))


def exists(path: str | Path, what: str = "path") -> bool:
    """``Path.exists`` that answers for any string a user can type.

    Why: ``Path.exists`` raises on a name longer than the file system allows (OSError
    ENAMETOOLONG) and on a NUL byte (ValueError); both are a wrong name, said on one line.
    """
    s = str(path)
    shown = repr(s[:60] + ("..." if len(s) > 60 else ""))
    try:
        if "\0" in s:  # Path.exists says False; opening or making it raises ValueError
            raise ValueError(s)
        return Path(path).exists()
    except ValueError:
        raise ConfigError(f"{what} {shown} contains a NUL byte; no file can be called that") from None
    except OSError as e:
        raise ConfigError(f"{what} {shown} ({len(s):,} characters): {e.strerror or e}") from None


def decode_text(data: bytes, source: str) -> str:
    """Decode UTF-8 text; binary content or another encoding is a ConfigError."""
    if b"\x00" in data:
        raise ConfigError("binary content (NUL bytes); expected a UTF-8 text file", file=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "save the file as UTF-8", file=source) from None
    bad = next((c for c in text if ord(c) < 32 and c not in "\t\n\r"), None)
    if bad is not None:
        raise ConfigError(f"control character {bad!r} in text; expected a UTF-8 text file",
                          file=source)
    return text


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text file through the checks of :func:`read_bytes` and :func:`decode_text`."""
    return decode_text(read_bytes(path), str(path))


#: deepest nesting of lists and mappings accepted in a YAML or JSON input (hetsim's own files
#: nest under 10 levels); deeper data overflowed the recursion of later steps (a device
#: preset's merge with its overrides) as a RecursionError traceback
MAX_NESTING = 64


def _too_deep(source: str, where: str = "") -> ConfigError:
    """The one message for input nested too deeply, whichever check found it (ours, the YAML
    library's own depth limit from PyYAML 6.0.4, or Python's recursion limit)."""
    return ConfigError(f"nested more than {MAX_NESTING} levels deep{where} (lists in lists or mappings "
                       "in mappings); hetsim's inputs nest a few levels", file=source)


def check_nesting(data: Any, source: str) -> Any:
    """Return *data*, or raise ConfigError if its lists/mappings nest deeper than MAX_NESTING."""
    stack, seen = [(data, 1)], {}  # YAML aliases share a subtree: each is walked once per depth
    while stack:
        x, depth = stack.pop()
        if isinstance(x, (dict, list)) and seen.get(id(x), 0) < depth:
            seen[id(x)] = depth
            if depth > MAX_NESTING:
                raise _too_deep(source)
            stack.extend((v, depth + 1) for v in (x.values() if isinstance(x, dict) else x))
    return data


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML *text* (from *source*: a file or a flag) with the strict loader."""
    try:
        return check_nesting(yaml.load(text, Loader=_Loader), source)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if "nesting depth" in problem:  # PyYAML >= 6.0.4 stops deep documents itself
            raise _too_deep(source, where) from None
        raise ConfigError(f"invalid YAML{where}: {problem}", file=source) from None
    except RecursionError:
        raise _too_deep(source) from None
    except ValueError as e:  # an integer of more than 4300 digits: int() refuses it (a traceback)
        raise ConfigError(_too_long_number(e), file=source) from None


def _too_long_number(err: ValueError) -> str:
    return (f"a number is too long to read ({str(err).split(';')[0]}); numbers in hetsim's "
            "inputs have at most a few dozen digits")


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file (errors name the file)."""
    return parse_yaml(read_text(path), str(path))


def read_json(path: str | Path) -> Any:
    """Read and parse a JSON file (errors name the file)."""
    text = read_text(path)
    try:
        return check_nesting(json.loads(text), str(path))
    except json.JSONDecodeError as e:
        raise ConfigError(f"invalid JSON at line {e.lineno}: {e.msg}", file=str(path)) from None
    except RecursionError:
        raise _too_deep(str(path)) from None
    except ValueError as e:
        raise ConfigError(_too_long_number(e), file=str(path)) from None


def open_text(path: str | Path) -> io.StringIO:
    """Return the checked text of *path* as a file object (for ``csv.reader``)."""
    return io.StringIO(read_text(path), newline="")


def read_xml(path: str | Path) -> ET.Element:
    """Read and parse an XML file; return its root element."""
    text = read_text(path)
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        raise ConfigError(f"not well-formed XML ({e})", file=str(path)) from None


def shown(value: Any) -> str:
    """A value as the user wrote it in a file or flag (``true``, not ``True``; text as is)."""
    return value if isinstance(value, str) else json.dumps(value)


#: ``--set`` keys without a dot name a workload parameter (the common knobs), in run, compare,
#: sweep and reproduce alike
SET_SHORTHAND = "workload.params."
#: the scenario's top-level fields (tests/test_sweep.py checks this against the Scenario model;
#: kept here so that the CLI reads flags without importing pydantic)
SCENARIO_FIELDS = ("name", "description", "system", "workload", "mapping", "run", "seed")


def set_key(key: str) -> str:
    """The dotted scenario path a ``--set`` key names: a dotted key is the path itself, a
    top-level field (``seed``) is itself, any other key a workload parameter (``context_len``
    is ``workload.params.context_len``)."""
    key = key.strip()
    return key if "." in key or key in SCENARIO_FIELDS else SET_SHORTHAND + key


def flag_value(text: str) -> Any:
    """One value written on the command line (``--set a.b=VALUE``), read as a YAML scalar.

    Text that is not valid YAML on its own (``[``, ``{a``, ``a: b: c``) is kept as the text
    it is, so validation answers "must be an integer, got text '['" naming the flag, rather
    than the YAML parser raising.
    """
    text = text.strip()
    if not text:
        return ""
    try:  # the scenario files' reading of numbers: 1e12 a number, 1:30 and 017 not base 60 or 8
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except (yaml.YAMLError, RecursionError, ValueError):  # ValueError: an int of > 4300 digits
        return text
