"""Scenario-document fuzzing: valid bases, mutations, and a tally shown at the end of the run.

The generator starts from small valid scenarios (a custom graph, a DSA decode step, a RAG
query) and applies document mutations (wrong types, missing, extra and misspelt keys,
extreme numbers, bad units, booleans) and text mutations (broken YAML, duplicate lines,
truncation, other encodings, random bytes). ``conftest.py`` prints :data:`TALLY` after the
session so the number of documents run is in every CI log.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field

import yaml
from hypothesis import strategies as st

#: ``pytest --thorough`` (or HETSIM_FUZZ_THOROUGH=1) multiplies the documents by five.
THOROUGH = os.environ.get("HETSIM_FUZZ_THOROUGH", "") not in ("", "0")
SCALE = 5 if THOROUGH else 1


@dataclass
class Tally:
    """Documents fuzzed in this session, by path, and the slowest one."""

    loader: int = 0
    run: int = 0
    ok: int = 0
    errors: int = 0
    slowest_s: float = 0.0
    messages: set = field(default_factory=set)

    def add(self, kind: str, code: int, seconds: float) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.ok += code == 0
        self.errors += code == 2
        self.slowest_s = max(self.slowest_s, seconds)

    @property
    def total(self) -> int:
        return self.loader + self.run


TALLY = Tally()

GPU = {"name": "g", "kind": "gpu",
       "memory": {"capacity_bytes": "80 GB", "peak_bandwidth_Bps": "2 TB/s",
                  "achievable_bandwidth_Bps": "1.7 TB/s"},
       "peak_flop_per_s": {"bf16": "312 TFLOP/s", "fp32": "19.5 TFLOP/s"},
       "efficiency": {"default": {"compute": 0.8, "memory": 0.9}},
       "launch_overhead_s": "5 us", "power": {"idle_w": 50, "active_w": 300}}

SYSTEM = {"devices": [GPU, {"preset": "u55c", "name": "f"}],
          "links": [{"preset": "p2p-host-jump", "between": ["g", "f"], "name": "p2p"}]}

BASES = [
    {"name": "fuzz-custom", "system": SYSTEM,
     "workload": {"name": "custom", "params": {
         "tasks": [{"name": "a", "step": "model", "kernel": "gemm", "shape": {"m": 1, "n": 64, "k": 64}},
                   {"name": "b", "step": "retrieval", "kernel": "topk",
                    "shape": {"batch": 1, "num_items": 4096, "k": 64}, "data": ["idx"]}],
         "edges": [{"from": "a", "to": "b", "bytes": 8192}],
         "data": {"idx": 1048576}}},
     "mapping": {"policy": "gpu-only"}, "run": {"queue_policy": "fifo"}, "seed": 0},
    {"name": "fuzz-dsa", "system": SYSTEM,
     "workload": {"name": "dsa_decode", "params": {"context_len": 512, "batch": 2, "num_layers": 1,
                                                   "micro_batches": 1}},
     "mapping": {"policy": "hetero", "params": {"gpu": "g", "fpga": "f"}},
     "run": {"queue_policy": "critical-path-first", "power_off_unused": True, "max_tasks": 5000}},
    {"name": "fuzz-rag", "system": SYSTEM,
     "workload": {"name": "rag_dense", "params": {"num_docs": 1000, "num_layers": 1, "top_k": 4,
                                                  "retriever": "dense", "decode_tokens": 0}},
     "mapping": {"policy": "single", "params": {"device": "g"}}},
    # a workload of the library on a model preset: its sizing walks layers and steps, so a
    # mutated count (num_layers: 1e30) must be refused at once, not hang
    {"name": "fuzz-lib", "system": SYSTEM,
     "workload": {"name": "dsa", "params": {"model": "llama-3.2-1b", "context_len": 512, "num_layers": 1,
                                            "steps": 2, "batch": 1, "micro_batches": 1, "phase": "decode",
                                            "prefill_chunk": 256}},
     "mapping": {"policy": "gpu-only"}},
]

BAD_STRINGS = ["-1 GB/s", "5 parsecs", "1e999 W", "", "gpu", "u55c", "nan", "1e12", "64 GB", "5 us",
               "300 MHz", "7.5 pJ/bit", "true", "null", "NaN GB/s", "inf", "1e-400 s", "0x10", "½ W",
               "10 GiB/s", "-0", "1_000", "\t", "é", "a" * 300]
NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.sampled_from([0, -1, 1, 2**63, 10**7, 10**12, 1e12, 1e308,
                                                                   -1e-12, 0.5, 1.5]),
                    st.floats(allow_nan=True, allow_infinity=True))
JUNK = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12), st.sampled_from(BAD_STRINGS),
                 st.lists(st.integers(-3, 3), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
                 st.just({"value": "1 GB", "source": 3}), st.just({"value": 1.0, "sourc": "x"}))


POLICIES = ["gpu-only", "hetero", "fpga-max", "heft", "single"]


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


PATHS = [[p for p in _paths(b) if p] for b in BASES]


def _typo(draw, key: str) -> str:
    if not key:
        return "x"
    i = draw(st.integers(0, len(key) - 1))
    return draw(st.sampled_from([key[:i] + key[i + 1:], key[:i] + key[i] + key[i:], key + "s", key.upper()])) or "x"


@st.composite
def documents(draw):
    """A mutated scenario document (a dict that may no longer be a valid scenario)."""
    i = draw(st.integers(0, len(BASES) - 1))
    doc = copy.deepcopy(BASES[i])
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        path = draw(st.sampled_from(PATHS[i]))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            key = path[-1]
            op = draw(st.sampled_from(["replace", "replace", "number", "delete", "add", "typo", "valid", "valid"]))
            if op == "valid":  # a different but valid value: accepted documents vary too
                if isinstance(parent[key], bool):
                    parent[key] = not parent[key]
                elif isinstance(parent[key], int):
                    parent[key] = draw(st.integers(1, 4))
                elif isinstance(parent[key], str) and parent[key] in POLICIES:
                    parent[key] = draw(st.sampled_from(POLICIES))
            elif op == "replace":
                parent[key] = draw(JUNK)
            elif op == "number":
                parent[key] = draw(NUMBERS)
            elif op == "delete":
                del parent[key]
            elif isinstance(parent, dict) and op == "add":
                parent[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
            elif isinstance(parent, dict) and isinstance(key, str):
                parent[_typo(draw, key)] = parent.pop(key)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return doc


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(doc) -> str:
    """YAML text of *doc* (libyaml's emitter: the pure-Python one dominated the fuzz time)."""
    try:
        return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True)
    except yaml.YAMLError:  # e.g. a key hypothesis made unrepresentable
        return repr(doc)


@st.composite
def texts(draw):
    """Bytes of a scenario file: a dumped document, maybe broken at the text level."""
    text = dump(draw(documents()))
    op = draw(st.sampled_from(["none", "none", "truncate", "insert", "dup-line", "tabs", "bom",
                               "latin1", "bytes", "text"]))
    if op == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif op == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([":", "- ", "{", "]", "'", '"', "&a", "*a", "!!python/object:os.system",
                                                 "\n  ", "\t", "%", "@", "? ", "|"])) + text[at:]
    elif op == "dup-line":
        lines = text.splitlines(keepends=True)
        j = draw(st.integers(0, max(0, len(lines) - 1)))
        text = "".join(lines[: j + 1] + lines[j: j + 1] + lines[j + 1:])
    elif op == "tabs":
        text = text.replace("  ", "\t")
    elif op == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    elif op == "latin1":
        return ("# caf\u00e9\n" + text).encode("latin-1", errors="replace")
    elif op == "bytes":
        return draw(st.binary(max_size=200))
    elif op == "text":
        return draw(st.text(max_size=200)).encode("utf-8", errors="surrogatepass")
    return text.encode("utf-8", errors="surrogatepass")


class Clock:
    """Seconds one document took."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
