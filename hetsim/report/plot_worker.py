"""Draw a run's timeline PNG in a forked child that loads matplotlib while the parent simulates.

Why: importing matplotlib costs about half a second and does not depend on the run. Started
before the simulator is imported, a child process pays that cost on the machine's other core
while the parent loads the scenario and simulates; the parent then hands it the trace through
a pipe and waits for the PNG. The picture is the one :func:`~hetsim.report.plots.plot_timeline`
draws in process (same function, same trace). This saves wall time only when a core is free,
and costs a little CPU (both processes import numpy). Where ``os.fork`` is missing, the load
average says no core is idle, the fork fails, the child fails for any reason, or the
environment variable ``HETSIM_PLOT_WORKER`` is ``inline``, the parent draws in process (so a
drawing error is raised there, as before). ``HETSIM_PLOT_WORKER=fork`` forks whatever the load
(for measuring); the default is ``auto``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path


def _core_free() -> bool:
    """True where a second core is likely idle right now.

    On Linux, the instantaneous count of runnable tasks in ``/proc/loadavg`` (this process
    included) must be below the number of usable cores; elsewhere, the one-minute load average
    must be below cores - 0.5. On a busy machine the child would only compete with the parent
    for the same cores and add a second numpy import, so the parent then draws in process.
    """
    if not hasattr(os, "getloadavg"):
        return False
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if cores < 2:
            return False
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            return running < cores
        except (OSError, ValueError, IndexError):
            return os.getloadavg()[0] < cores - 0.5
    except OSError:
        return False


def _without_3d_axes(load) -> None:
    """Call *load* (which imports matplotlib) without importing its 3D toolkit.

    Why: ``matplotlib.projections`` imports ``mpl_toolkits.mplot3d`` to register the "3d"
    projection, about a tenth of matplotlib's import time, and the import is on the path to
    the PNG. A timeline never uses 3D axes and this process ends after one picture, so the
    import is blocked (a ``None`` entry in ``sys.modules``) and matplotlib's warning that 3D
    is unavailable is silenced. Only in the plot worker: a process that draws in process
    keeps matplotlib as it is. Where matplotlib is already loaded this changes nothing.
    """
    import sys
    import warnings

    blocked = "mpl_toolkits.mplot3d" not in sys.modules and "matplotlib.projections" not in sys.modules
    if blocked:
        sys.modules["mpl_toolkits.mplot3d"] = None
    try:
        with warnings.catch_warnings():
            if blocked:
                warnings.filterwarnings("ignore", message="Unable to import Axes3D")
            load()
    finally:
        if blocked and sys.modules.get("mpl_toolkits.mplot3d", 0) is None:
            del sys.modules["mpl_toolkits.mplot3d"]


class TimelineWorker:
    """A child process that has imported matplotlib and draws one timeline when asked."""

    def __init__(self, enabled: bool = True, exits_after: bool = False):
        """*exits_after*: this process ends after the run (the ``hetsim`` command itself), so
        when it draws in process it may load matplotlib as the worker does (no 3D toolkit)."""
        self.pid: int | None = None
        self._w: int | None = None
        self._writer = None
        self._job = None
        self._exits_after = exits_after
        mode = os.environ.get("HETSIM_PLOT_WORKER", "auto")
        if not enabled or not hasattr(os, "fork") or mode == "inline" or (mode != "fork" and not _core_free()):
            return
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns, never runs the parent's exit handlers
            code = 1
            try:
                # short-lived and ends with os._exit: the cyclic collector would only rescan
                # matplotlib's long-lived objects while it imports and draws
                import gc

                gc.disable()
                os.close(w)
                from . import plots

                _without_3d_axes(plots.load_matplotlib)
                import select

                if not select.select([r], [], [], 0)[0]:  # the parent is still busy: draw warm
                    plots.warm_up()
                with os.fdopen(r, "rb") as f:
                    data = f.read()
                if data:  # an empty pipe: the parent failed before drawing, nothing to do
                    trace, path, title = pickle.loads(data)
                    plots.plot_timeline(trace, Path(path), title=title)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent redraws and reports the error
                code = 1
            finally:
                os._exit(code)
        os.close(r)
        self.pid, self._w = pid, w

    def send(self, trace, path: Path, title: str = "") -> None:
        """Hand the child the trace and return at once; :meth:`finish` waits for the PNG.

        The pickle is written from a thread, so the caller can write its other files while
        the child reads it (a pipe holds only 64 KB; a big trace would otherwise block here).
        """
        self._job = (trace, Path(path), title)
        if self.pid is None or self._w is None:
            return
        data = pickle.dumps((trace, str(path), title), protocol=pickle.HIGHEST_PROTOCOL)
        w, self._w = self._w, None

        def write() -> None:
            try:
                with os.fdopen(w, "wb") as f:
                    f.write(data)
            except OSError:  # the child is gone: finish() redraws in process
                pass

        import threading

        self._writer = threading.Thread(target=write, daemon=True)
        self._writer.start()

    def finish(self) -> Path:
        """Wait for the PNG :meth:`send` asked for: the child's, or drawn here if it failed."""
        from .plots import plot_timeline

        trace, path, title = self._job
        self._job = None
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self.pid is not None and self._reap() == 0 and path.exists():
            return path
        if self._exits_after:
            from . import plots

            _without_3d_axes(plots.load_matplotlib)
        return plot_timeline(trace, path, title=title)

    def draw(self, trace, path: Path, title: str = "") -> Path:
        """Write the timeline PNG at *path*: in the child when it is there and succeeds."""
        self.send(trace, path, title)
        return self.finish()

    def close(self) -> None:
        """Release the child without drawing (a run that failed, or --no-plot)."""
        if self._w is not None:
            os.close(self._w)
            self._w = None
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        self._reap()

    def _reap(self) -> int | None:
        if self.pid is None:
            return None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return os.waitstatus_to_exitcode(status)

    def __enter__(self) -> "TimelineWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
