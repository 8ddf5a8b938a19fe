"""Exception tree for hetsim.

Every error a user can cause (a bad scenario file, an unknown device, a graph with a cycle)
is a :class:`HetsimError`. The CLI turns these into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HetsimError(Exception):
    """Base class of all user-facing hetsim errors."""


class ConfigError(HetsimError):
    """A configuration value is invalid.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The file the value came from.
    field : str, optional
        Dotted path of the field inside the file (``devices.0.memory.bandwidth``).
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(p for p in (file, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class GraphError(HetsimError):
    """A task graph is malformed (cycle, missing attribute, bad edge)."""


class MappingError(HetsimError):
    """A mapping places a task where it cannot run, or names an unknown device."""


class CostLookupError(HetsimError):
    """No cost model can price a task on the device it was mapped to."""


class CapacityError(HetsimError):
    """Resident data does not fit into a device's memory."""
