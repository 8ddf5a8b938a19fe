"""Per-pseudo-channel HBM bandwidth in the FPGA cycle models (``channel_Bps``).

A 512-bit port at 300 MHz asks for 19.2 GB/s; a U55C pseudo-channel delivers ~13.3 GB/s
(425 GB/s achievable over 32 channels, S34; 14.375 GB/s peak, S24). The models add the missing
cycles as memory stalls: the loop trip counts (what C simulation counts) do not move, a
compute-bound phase keeps its cycles, and no clock makes a streaming phase beat its channels.
"""

from __future__ import annotations

from fractions import Fraction
import math

import pytest
from hypothesis import given, settings, strategies as st

from hetsim.fpga_kernels import DESIGNS, estimate

CH = 13.28125e9  # u55c.yaml fpga.channel_bandwidth_Bps

# design, shape, loop holding the beats of the streaming phase, streams sharing hbm_ports
STREAMING = [
    ("dsa_indexer", dict(batch=1, num_keys=4096, num_heads=64, head_dim=128, k=256), "dsa.key_beat", 1),
    ("dsa_indexer_score", dict(batch=2, num_keys=2048, num_heads=16, head_dim=128), "dsa.key_beat", 1),
    ("inner_product_topk", dict(batch=1, num_items=4096, dim=256, k=64), "ip.item_beat", 1),
    ("block_gate", dict(batch=1, num_keys=65536, block_size=16, head_dim=128, budget=1024), "bg.block_beat", 1),
    ("page_bound", dict(batch=1, num_keys=65536, page_size=8, head_dim=128, k=64), "pb.page_beat", 2),
    ("topk", dict(batch=1, num_items=65536, k=64), "topk.beat", 1),
    ("bm25", dict(num_postings=200_000, num_docs=4096, num_terms=4, k=16), "bm25.post_beat", 1),
]


def test_dsa_indexer_32k_keys_by_hand():
    """64 heads x 128 dims int16, 32K keys, top-2048, one port, 300 MHz, random order."""
    shape = dict(batch=1, num_keys=32768, num_heads=64, head_dim=128, k=2048)
    before = estimate("dsa_indexer", shape)
    # q 256 beats + w 2 + 131072 key beats (above the top-k's ~95K) + drain 2048 + depth 60
    assert before.cycles == 256 + 2 + 131072 + 2048 + 60 == 133438
    after = estimate("dsa_indexer", shape, {"channel_Bps": CH})
    # a port gets 13.28125 / 19.2 beats per cycle: every load takes 19.2/13.28125 x its beats
    slow = Fraction(19_200_00, 13_281_25)  # 19.2 GB/s / 13.28125 GB/s
    want = math.ceil(256 * slow) + math.ceil(2 * slow) + math.ceil(131072 * slow) + 2048 + 60
    assert after.cycles == want == 371 + 3 + 189484 + 2048 + 60
    assert after.time_s == pytest.approx(639.887e-6, rel=1e-5)  # was 444.79 us
    assert after.loops == before.loops and after.hbm_bytes == before.hbm_bytes


def test_u55c_preset_prices_the_channel_limit():
    """The cost model passes the device file's channel bandwidth to the cycle model."""
    from hetsim.costs.model import CostModel
    from hetsim.graph import Task
    from hetsim.loader import load_device_preset

    dev = load_device_preset("u55c")
    assert float(dev.fpga.channel_bandwidth_Bps) == CH
    task = Task("idx", "compute_relevancy", "indexer_topk",
                dict(batch=1, num_keys=32768, num_heads=64, head_dim=128, k=2048))
    cost = CostModel().price(task, dev)
    assert cost.work_s == pytest.approx(191966 / 300e6, rel=1e-12)


@pytest.mark.parametrize("design,shape,loop,streams", STREAMING, ids=[s[0] for s in STREAMING])
@settings(max_examples=15, deadline=None)
@given(clock_mhz=st.integers(100, 1200), ports=st.sampled_from([1, 2, 4]))
def test_no_clock_beats_the_channels(design, shape, loop, streams, clock_mhz, ports):
    """Time of a streaming design >= its streamed bytes / (ports x channel bandwidth), at any
    clock; with no channel limit the cycles and trip counts are the loop structure's."""
    ports = ports * streams
    clock = clock_mhz * 1e6
    p = {"clock_hz": clock, "hbm_ports": ports, "lanes": 4}
    free = estimate(design, shape, p)
    held = estimate(design, shape, {**p, "channel_Bps": CH})
    streamed = 64 * free.loops[loop] * streams  # page_bound: kmin and kmax beats
    assert held.time_s >= streamed / (ports * CH) * (1 - 1e-12)
    assert held.cycles >= free.cycles and held.loops == free.loops and held.hbm_bytes == free.hbm_bytes
    if CH >= 64 * clock:  # the channel keeps up: compute-bound cycles unchanged
        assert held.cycles == free.cycles


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_every_design_takes_channel_bps(design):
    """Every design takes the device's channel bandwidth: a channel faster than its ports changes
    nothing, a slower one never speeds it up nor moves its trip counts or bytes."""
    from hetsim.fpga_cli import EXAMPLE_SHAPES

    assert DESIGNS[design].defaults["channel_Bps"] is None
    shape = EXAMPLE_SHAPES[design]
    free = estimate(design, shape)
    assert estimate(design, shape, {"channel_Bps": 1e12}).cycles == free.cycles
    held = estimate(design, shape, {"channel_Bps": 5e9})
    assert held.cycles >= free.cycles and held.loops == free.loops and held.hbm_bytes == free.hbm_bytes


def test_bad_channel_bps():
    from hetsim.fpga_kernels._common import port_beats_per_cycle

    with pytest.raises(ValueError, match="channel_Bps"):
        port_beats_per_cycle({"channel_Bps": -1.0, "clock_hz": 300e6})


def test_channels_cannot_exceed_the_card_peak():
    """A device whose channels together beat its HBM peak is refused, naming both fields."""
    from pydantic import ValidationError

    from hetsim.config.device import DeviceSpec
    from hetsim.loader import load_device_preset

    d = load_device_preset("u55c").model_dump()
    d["fpga"]["channel_bandwidth_Bps"] = 15e9  # x 32 = 480 GB/s > 460
    with pytest.raises(ValidationError, match="channel_bandwidth_Bps x num_hbm_ports.*peak_bandwidth_Bps"):
        DeviceSpec.model_validate(d)
