"""What happened in a run: one immutable record per task and per transfer hop.

Everything downstream (metrics, the Perfetto trace, the timeline plot) reads only these
records and the per-resource constants saved with them, never the engine's state.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
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


class LazyList(Sequence):
    """A list built on first use: the compiled engine path keeps its trace as arrays and
    makes the :class:`Record` objects (about a microsecond each) only when someone reads
    them. It reads, compares and pickles as the list its *build* callable returns."""

    __slots__ = ("_n", "_build", "_items")

    def __init__(self, n: int, build: Callable[[], list]):
        self._n, self._build, self._items = n, build, None

    def materialize(self) -> list:
        """The list itself (built once, then kept)."""
        if self._items is None:
            was_enabled = gc.isenabled()
            gc.disable()  # many young objects, no cycles: the cyclic collector only costs time
            try:
                self._items = self._build()
            finally:
                if was_enabled:
                    gc.enable()
            self._build = None
            if len(self._items) != self._n:  # pragma: no cover - would be an engine bug
                raise RuntimeError("lazy list built with the wrong length")
        return self._items

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):
        return self.materialize()[k]

    def __iter__(self):
        return iter(self.materialize())

    def __eq__(self, other) -> bool:
        if isinstance(other, LazyList):
            other = other.materialize()
        return self.materialize() == other if isinstance(other, list) else NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self.materialize())

    def __reduce__(self):
        return (list, (self.materialize(),))


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
