"""The discrete-event engine (SimPy): resources and one process per task."""

from .run import simulate

__all__ = ["simulate"]
