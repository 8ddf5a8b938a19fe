"""What happened in a run: one immutable record per task and per transfer hop.

Everything downstream (metrics, the Perfetto trace, the timeline plot) reads only these
records and the per-resource constants saved with them, never the engine's state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Record:
    """One interval on one resource.

    ``kind`` is ``task`` (a kernel on an engine slot) or ``hop`` (one hop of a transfer on a
    link channel). ``energy_j`` is the energy above idle that this interval caused: the
    device's or link's extra power while busy times the duration, plus per-byte link energy.
    """

    name: str
    kind: str
    step: str
    device: str | None
    resource: str
    start_s: float
    end_s: float
    ready_s: float
    overhead_s: float = 0.0
    nbytes: float = 0.0
    flop: float = 0.0
    extra_power_w: float = 0.0
    energy_j: float = 0.0
    source: str = ""
    extrapolated: bool = False
    layer: int | None = None
    hop: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return asdict(self)


RECORD_FIELDS = tuple(f.name for f in fields(Record))


def make_record(values: tuple) -> Record:
    """A :class:`Record` from its field values in declaration order, without the frozen
    dataclass's per-field ``object.__setattr__`` (the engines make one per task)."""
    r = object.__new__(Record)
    r.__dict__.update(zip(RECORD_FIELDS, values))
    return r


@dataclass(frozen=True)
class ResourceInfo:
    """Constants of a device or a link channel needed to read a trace."""

    name: str
    kind: str  # "device" or "channel"
    idle_w: float
    slots: tuple[str, ...] = ()
    link: str | None = None
    used: bool = True


@dataclass
class Trace:
    """All records of a run plus what is needed to account for them."""

    records: list[Record]
    devices: dict[str, ResourceInfo]
    channels: dict[str, ResourceInfo]
    link_idle_w: dict[str, float]
    edges: list[tuple[str, str]] = field(default_factory=list)
    memory_bytes: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def makespan_s(self) -> float:
        return max((r.end_s for r in self.records), default=0.0)
