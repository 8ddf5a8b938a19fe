"""The discrete-event engine: a SimPy reference path and a fast path with identical traces."""

from .run import ENGINES, simulate

__all__ = ["ENGINES", "simulate"]
