"""Links between devices: one channel per direction, each with its own latency model.

PCIe is full duplex, so each direction of a link is a separate channel that transfers
contend for. A channel's time for ``n`` bytes comes from a latency model: ``alpha_beta``
(fixed latency plus size over bandwidth) or ``piecewise_bandwidth`` (the achieved bandwidth
as a piecewise-linear function of size, the form of the study's measured P2P fit).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .device import Strict
from .quantity import Bandwidth, Bytes, JoulePerByte, Ratio, Seconds, Watts



class AlphaBeta(Strict):
    """t(n) = setup_s + latency_s + n / bandwidth_Bps."""

    model: Literal["alpha_beta"] = "alpha_beta"
    latency_s: Seconds = Field(description="fixed latency per transfer in s")
    bandwidth_Bps: Bandwidth = Field(description="sustained bandwidth in B/s")
    setup_s: Seconds = Field(0.0, description="DMA set-up cost per call in s")

    def time_s(self, nbytes: float) -> float:
        """Return the channel time in s for *nbytes*."""
        return float(self.setup_s) + float(self.latency_s) + nbytes / float(self.bandwidth_Bps)


class BandwidthSegment(Strict):
    """bw(n) = intercept_Bps + slope_per_s * n for n up to ``upper_bytes`` (None = no bound)."""

    upper_bytes: Bytes | None = Field(description="segment end in B; null for the last")
    slope_per_s: Ratio = Field(description="bandwidth gained per byte of size, in (B/s)/B")
    intercept_Bps: Bandwidth = Field(description="bandwidth at size 0 in B/s")


class PiecewiseBandwidth(Strict):
    """t(n) = setup_s + n / bw(n), bw piecewise linear in n.

    With ``smooth: true`` the time is made continuous at each segment boundary ``b``:
    beyond ``b`` a transfer costs ``t(b) + (n - b) / bw_next(n)``, so a transfer one byte
    longer never costs a jump (the raw fit of the study jumps by ~2x at 128 KiB).
    """

    model: Literal["piecewise_bandwidth"] = "piecewise_bandwidth"
    segments: tuple[BandwidthSegment, ...] = Field(min_length=1)
    smooth: bool = True
    setup_s: Seconds = Field(0.0, description="DMA set-up cost per call in s")

    @model_validator(mode="after")
    def _ordered(self):
        bounds = [s.upper_bytes for s in self.segments]
        if bounds[-1] is not None:
            raise ValueError("the last segment must have upper_bytes: null (no bound)")
        finite = [float(b) for b in bounds[:-1] if b is not None]
        if len(finite) != len(bounds) - 1 or finite != sorted(finite):
            raise ValueError("segment upper_bytes must be increasing, only the last may be null")
        return self

    def _bw(self, seg: BandwidthSegment, n: float) -> float:
        return float(seg.intercept_Bps) + float(seg.slope_per_s) * n

    def time_s(self, nbytes: float) -> float:
        """Return the channel time in s for *nbytes*."""
        if nbytes <= 0:
            return float(self.setup_s)
        lower, t_lower = 0.0, 0.0
        for seg in self.segments:
            upper = float(seg.upper_bytes) if seg.upper_bytes is not None else float("inf")
            if nbytes <= upper:
                if not self.smooth or lower == 0.0:
                    t = nbytes / self._bw(seg, nbytes)
                else:
                    t = t_lower + (nbytes - lower) / self._bw(seg, nbytes)
                return float(self.setup_s) + t
            t_lower = (upper / self._bw(seg, upper) if lower == 0.0 or not self.smooth
                       else t_lower + (upper - lower) / self._bw(seg, upper))
            lower = upper
        raise AssertionError("unreachable: last segment is unbounded")


LatencyModel = Annotated[Union[AlphaBeta, PiecewiseBandwidth], Field(discriminator="model")]


class LinkPower(Strict):
    """Link power: idle draw, extra draw while a direction is busy, and energy per byte."""

    idle_w: Watts = Field(0.0, description="idle power of the link (both directions) in W")
    active_w: Watts = Field(0.0, description="power of one busy direction in W (>= idle share)")
    energy_per_byte_j: JoulePerByte = Field(0.0, description="energy per byte moved in J/B")

    @model_validator(mode="after")
    def _active_ge_idle(self):
        if self.active_w < self.idle_w:
            raise ValueError("active_w must be >= idle_w")
        return self


class LinkSpec(Strict):
    """A link type: latency model per direction and power.

    ``forward`` is the direction from the first to the second endpoint named where the link
    is used in a system; ``reverse`` the other way (defaults to ``forward``).
    """

    name: str
    description: str = ""
    forward: LatencyModel
    reverse: LatencyModel | None = None
    power: LinkPower = LinkPower()

    def direction(self, forward: bool):
        """Return the latency model of one direction."""
        return self.forward if forward or self.reverse is None else self.reverse
