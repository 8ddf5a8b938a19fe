"""Devices and link directions as a networkx graph; routes between devices.

Each link contributes two directed edges (its two channels). A transfer from device A to B
takes the route with the least store-and-forward time for its size: every hop is a full
transfer on that hop's channel (so a host-staged path costs both hops), and the cheapest
route can differ by size (a slow-to-start direct path against a fast staged one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import networkx as nx

from .config.link import LinkSpec
from .config.system import SystemSpec
from .errors import MappingError


@dataclass(frozen=True)
class Channel:
    """One direction of one link."""

    link: str
    src: str
    dst: str
    spec: LinkSpec
    forward: bool

    @property
    def name(self) -> str:
        return f"{self.link}:{self.src}->{self.dst}"

    def time_s(self, nbytes: float) -> float:
        """Channel time in s for a transfer of *nbytes*."""
        return self.spec.direction(self.forward).time_s(nbytes)


class Topology:
    """Route finder over a :class:`SystemSpec`."""

    def __init__(self, system: SystemSpec):
        self.system = system
        self.graph = nx.MultiDiGraph()
        self.graph.add_nodes_from(system.device_names)
        self.channels: dict[str, Channel] = {}
        for lk in system.links:
            a, b = lk.between
            for src, dst, fwd in ((a, b, True), (b, a, False)):
                ch = Channel(lk.name, src, dst, lk.spec, fwd)
                self.channels[ch.name] = ch
                self.graph.add_edge(src, dst, key=ch.name, channel=ch)
        self._route = lru_cache(maxsize=4096)(self._route_uncached)

    def route(self, src: str, dst: str, nbytes: int) -> tuple[Channel, ...]:
        """Return the channels of the fastest route for *nbytes* from *src* to *dst*."""
        return self._route(src, dst, int(nbytes))

    def _route_uncached(self, src: str, dst: str, nbytes: int) -> tuple[Channel, ...]:
        for d in (src, dst):
            if d not in self.graph:
                raise MappingError(f"unknown device {d!r}; devices: {', '.join(self.system.device_names)}")
        if src == dst:
            return ()

        def weight(u, v, edges):
            return min(e["channel"].time_s(nbytes) for e in edges.values())

        try:
            nodes = nx.dijkstra_path(self.graph, src, dst, weight=weight)
        except nx.NetworkXNoPath:
            raise MappingError(f"no link route from {src!r} to {dst!r}; add a link between them "
                               "(system.links)") from None
        hops = []
        for u, v in zip(nodes, nodes[1:]):
            chans = sorted((e["channel"] for e in self.graph.get_edge_data(u, v).values()),
                           key=lambda c: (c.time_s(nbytes), c.name))
            hops.append(chans[0])
        return tuple(hops)

    def route_time_s(self, src: str, dst: str, nbytes: int) -> float:
        """Uncontended store-and-forward time of the route in s."""
        return sum(c.time_s(nbytes) for c in self.route(src, dst, nbytes))
