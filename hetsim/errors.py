"""Exception tree for hetsim.

Every error a user can cause (a bad scenario file, an unknown device, a graph with a cycle)
is a :class:`HetsimError`. The CLI turns these into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class _Located:
    """The file/field/detail triple shared by errors and warnings about an input value."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(p for p in (file, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class HetsimError(_Located, Exception):
    """Base class of all user-facing hetsim errors.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str, optional
        The file the value came from, or the command-line flag or environment variable.
    field : str, optional
        Dotted path of the field inside the file (``devices.0.memory.bandwidth``).
    """


class ConfigError(HetsimError):
    """A configuration value is invalid."""


class GraphError(HetsimError):
    """A task graph is malformed (cycle, missing attribute, bad edge)."""


class MappingError(HetsimError):
    """A mapping places a task where it cannot run, or names an unknown device."""


class CostLookupError(HetsimError):
    """No cost model can price a task on the device it was mapped to."""


class DtypeError(CostLookupError):
    """A device has no compute peak for a task's datatype; *dtype* says which, so the layer
    that knows where the datatype was set (``workload.params.dtype``) can name that field."""

    def __init__(self, message: str, *, dtype: str, file: str | None = None, field: str | None = None):
        super().__init__(message, file=file, field=field)
        self.dtype = dtype


class CapacityError(HetsimError):
    """Resident data does not fit into a device's memory."""


class InputWarning(_Located, UserWarning):
    """A value that is valid but has no effect where it is (e.g. ``embed_dim`` with a BM25
    retriever). The CLI prints it as one line, ``hetsim: warning: FILE: FIELD: why``, and
    goes on; it names the file and field like :class:`HetsimError`."""


def located(err: HetsimError, file: str | None, field: str | None = None) -> HetsimError:
    """Return *err* naming *file* and *field* when it names neither yet (same class).

    Why: errors raised deep inside graph building or mapping do not know which file the
    values came from; the layer that does (the simulation entry point) attaches it, so
    every message the user sees says where to look.
    """
    if err.file or not (file or field):
        return err
    return restated(err, err.detail, file=file, field=err.field or field)


def restated(err: HetsimError, detail: str, *, file: str | None, field: str | None) -> HetsimError:
    """A copy of *err* (same class, a subclass's own attributes such as ``DtypeError.dtype``
    kept) saying *detail* about *file* and *field*."""
    new = type(err).__new__(type(err))
    new.__dict__.update(err.__dict__)
    HetsimError.__init__(new, detail, file=file, field=field)
    return new
