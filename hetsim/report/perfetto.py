"""Chrome/Perfetto trace (JSON Trace Event Format): a track per engine slot and link direction.

Open ``trace.json`` at https://ui.perfetto.dev or chrome://tracing. Devices are processes,
their engine slots threads; links are processes with one thread per direction. Times are in
microseconds, as the format requires. The file is written one event at a time, so a run with
millions of records never holds the whole JSON document in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..trace import Trace


def trace_events(trace: Trace) -> Iterator[dict]:
    """Yield the Trace Event Format events: track names first, then one per record."""
    tid_of: dict[str, tuple[int, int]] = {}
    for i, (name, info) in enumerate(sorted(trace.devices.items())):
        yield {"ph": "M", "name": "process_name", "pid": i + 1, "args": {"name": f"device {name}"}}
        for j, slot in enumerate(info.slots):
            tid_of[slot] = (i + 1, j + 1)
            yield {"ph": "M", "name": "thread_name", "pid": i + 1, "tid": j + 1, "args": {"name": slot}}
    links = sorted({info.link for info in trace.channels.values()})
    base = len(trace.devices) + 1
    for k, link in enumerate(links):
        yield {"ph": "M", "name": "process_name", "pid": base + k, "args": {"name": f"link {link}"}}
        chans = sorted(c for c, info in trace.channels.items() if info.link == link)
        for j, c in enumerate(chans):
            tid_of[c] = (base + k, j + 1)
            yield {"ph": "M", "name": "thread_name", "pid": base + k, "tid": j + 1,
                   "args": {"name": c.split(":", 1)[-1]}}
    for r in trace.records:
        pid, tid = tid_of[r.resource]
        args = {"step": r.step, "bytes": r.nbytes, "source": r.source, "energy_j": r.energy_j,
                "ready_us": r.ready_s * 1e6}
        if r.kind == "task":
            args.update({"flop": r.flop, "overhead_us": r.overhead_s * 1e6})
        if r.extrapolated:
            args["extrapolated"] = True
        yield {"ph": "X", "name": r.name, "cat": r.step, "pid": pid, "tid": tid,
               "ts": r.start_s * 1e6, "dur": r.duration_s * 1e6, "args": args}


def _other_data(trace: Trace) -> dict:
    return {"generator": "hetsim", **{k: str(v) for k, v in trace.meta.items()}}


def chrome_trace(trace: Trace) -> dict:
    """Return the trace as a Trace Event Format object (in memory: for tests and small runs)."""
    return {"traceEvents": list(trace_events(trace)), "displayTimeUnit": "ns", "otherData": _other_data(trace)}


def write_chrome_trace(trace: Trace, path: Path) -> Path:
    """Write the same document as :func:`chrome_trace` to *path*, streamed event by event."""
    enc = json.JSONEncoder().encode
    with open(path, "w") as fh:
        fh.write('{"traceEvents": [')
        buf: list[str] = []
        sep = ""
        for ev in trace_events(trace):
            buf.append(enc(ev))
            if len(buf) == 4096:  # bounded memory, few write calls
                fh.write(sep + ", ".join(buf))
                buf, sep = [], ", "
        if buf:
            fh.write(sep + ", ".join(buf))
        fh.write('], "displayTimeUnit": "ns", "otherData": ' + enc(_other_data(trace)) + "}")
    return Path(path)
