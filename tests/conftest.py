"""Shared fixtures: small hand-written systems whose numbers make hand arithmetic easy.

Like GenZ's tests, these build devices inline from explicit numbers instead of presets, so the
expected values do not move when the presets in device_models/ are refined.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from simkit import make_device, make_link, make_system

# "ci" (the default) draws the same examples on every run, so a CI run on a fresh clone passes
# or fails on the code alone, never on the draw; `pytest --thorough` loads "thorough", fresh
# random examples, ten times as many.
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture
def two_device_system():
    """gpu 'a' and device 'b' joined by one alpha-beta link, numbers chosen for hand math."""
    a = make_device("a", flops=1e12, bw=1e9, launch=1e-6, idle=10.0, active=110.0)
    b = make_device("b", kind="fpga", flops=2e12, bw=2e9, launch=0.0, idle=5.0, active=25.0)
    link = make_link(latency=2e-6, bw=1e9, setup=1e-6, idle=1.0, active=3.0, per_byte=1e-9)
    return make_system([a, b], [(link, "a", "b")])


def pytest_addoption(parser):
    parser.addoption("--thorough", action="store_true",
                     help="fuzz five times as many scenario documents (over 10,000) and draw "
                          "fresh random hypothesis examples, ten times as many")


def pytest_configure(config):
    import os

    if config.getoption("--thorough"):
        os.environ["HETSIM_FUZZ_THOROUGH"] = "1"  # read by fuzzkit when the fuzz tests import it
        settings.load_profile("thorough")  # before collection, so every @settings inherits it


def pytest_terminal_summary(terminalreporter):
    import sys

    fuzzkit = sys.modules.get("fuzzkit")
    if fuzzkit is None or not fuzzkit.TALLY.total:
        return
    t = fuzzkit.TALLY
    terminalreporter.write_line(
        f"fuzz: {t.total} scenario documents ({t.loader} through the loader, {t.run} through "
        f"'hetsim run'): {t.ok} accepted, {t.errors} refused with one line and exit 2, "
        f"slowest {t.slowest_s:.2f} s")
