"""The study's own FPGA designs (HeteroLLM ``kernels/``), as cycle models next to hetsim's.

Why: a hetero verdict is only as good as the FPGA side it assumes. These presets price the
designs as the study built them -- port counts, lane widths, loop trip counts -- read from
``shared/reference/heterollm.md`` §3 (a paraphrase of OswaldHe/HeteroLLM at commit 312d0fda),
including the study's own flaws where they change the numbers (each design's ``study_note``).
All TAPA designs run at the study's 3.33 ns clock (300 MHz, ``impl_config.json``).

Shared pieces of the study's kernels (§3 "Shared idioms"):

- readers stream one beat per cycle per port;
- ``topk_parallel_cmp``: 16-wide packs; ~1 cycle per pack, and a pack holding a candidate runs
  a 16-lane inner loop (pipeline off) plus a min-tree recompute of log2(K) levels per
  replacement. The fill takes the first K/16 packs. Output: K/16 packs of ids (unsorted).
- int16 dot-product engines (Seer/LServe): 128 keys in parallel, 32 iterations per 128-dim
  block at II=1 plus a 3-step reduction: ~35 cycles per 128-key block per PE.
"""

from __future__ import annotations

from typing import Mapping

from ._common import (BEAT_BYTES, CycleEstimate, Design, Memory, Structure, ceil_div, clamp_k, elem_bytes,
                      expected_serial_beats, log2_ceil, memory_cycles, topk_replacements, total_ports)

PACK = 16  # lanes of the study's top-k packs and score streams
HL = "hetsim/fpga_kernels/study.py"  # the paraphrase lives in shared/reference/heterollm.md
SWEEP_INT = ("int8", "int16", "fp16", "fp32")


def study_topk(n: int, k: int, p: Mapping[str, object], prefix: str = "topk") -> tuple[dict[str, int], int]:
    """Loop counts and cycles of the study's ``topk_parallel_cmp`` over n scores.

    cycles = packs + 16 x (packs with a candidate after the fill) + replacements x log2(k_max)
    """
    kk = clamp_k(k, int(p["k_max"]))
    hm = str(p["hit_model"])
    packs = ceil_div(n, PACK)
    fill = min(packs, ceil_div(kk, PACK))
    serial = int(round(expected_serial_beats(n, kk, PACK, hm)))
    hit_packs = max(0, serial - fill)
    rep = topk_replacements(n, kk, hm)
    tree = int(p["rescan_cycles"]) if p.get("rescan_cycles") is not None else log2_ceil(int(p["k_max"]))
    loops = {f"{prefix}.pack": packs, f"{prefix}.hit_pack": hit_packs, f"{prefix}.replace": rep}
    return loops, packs + PACK * hit_packs + rep * tree


def _topk_mem(p: Mapping[str, object]) -> Memory:
    return Memory(64, int(p["k_max"]), 1, "reg")  # (float score | id) packed in 64 bits, fully partitioned


def _base(**kw: object) -> dict[str, object]:
    d: dict[str, object] = {"clock_hz": 300e6, "channel_Bps": None, "lanes": 1, "elem_type": "int16", "k_max": 64,
                            "hit_model": "random", "rescan_cycles": None, "depth": 60}
    d.update(kw)
    return d


# ---------------------------------------------------------------- 3.1 vanilla DSA indexer
def dsa_vanilla(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.1: P PEs in a systolic chain over the dim split, one port each (256-bit lines).

    A line holds one dim of ``key_lanes`` = port_bits / element bits consecutive keys (16 at
    int16). Per round of key_lanes keys each PE runs dims_per_pe = ceil(head_dim/P) MAC cycles
    on a key_lanes x heads MAC array, then ``heads`` output cycles (one key x head pack each).
    At 16 heads, 128 dims, 8 ports: 16 + 16 = 32 cycles per 16 keys (0.5 key/cycle).
    """
    batch, n, h, dim, k = (shape[x] for x in ("batch", "num_keys", "num_heads", "head_dim", "k"))
    heads = int(p["heads"])
    if h > heads:
        raise ValueError(f"dsa_vanilla is built for {heads} heads (NUM_INDEX_HEAD), got num_heads={h}")
    ports = int(p["hbm_ports"])
    eb = elem_bytes(p)
    key_lanes = max(1, int(p["port_bits"]) // (8 * eb))
    dims_pe = ceil_div(dim, ports)
    rounds = ceil_div(n, key_lanes)
    mac_cycles, out_cycles = rounds * dims_pe, rounds * heads
    q_lines = dims_pe * ceil_div(heads, key_lanes)
    row = {"dsav.q_line": q_lines, "dsav.mac": mac_cycles, "dsav.out": out_cycles, "dsav.round": rounds}
    tk, topk_cycles = study_topk(n, k, p)
    row.update(tk)
    kk = clamp_k(k, int(p["k_max"]))
    line_b = int(p["port_bits"]) // 8
    stream = max(mac_cycles + out_cycles, topk_cycles, memory_cycles(mac_cycles, 1, p, line_b))
    cycles_row = max(q_lines, memory_cycles(q_lines, 1, p, line_b)) + stream + ceil_div(kk, PACK) + int(p["depth"])
    bytes_row = line_b * ports * (q_lines + rounds * dims_pe) + BEAT_BYTES * (1 + ceil_div(kk, PACK))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p),
                         {n_: v * batch for n_, v in row.items()}, float(p["clock_hz"]))


def dsa_vanilla_structure(p: Mapping[str, object]) -> Structure:
    """P PEs x (key_lanes x heads) MAC array, q slice per PE in registers, ap_int<40> psums, K-slot top-k."""
    eb = elem_bytes(p)
    ports, heads = int(p["hbm_ports"]), int(p["heads"])
    key_lanes = max(1, int(p["port_bits"]) // (8 * eb))
    dims_pe = ceil_div(128, ports)
    mems = (Memory(8 * eb, dims_pe * heads, ports, "reg"), Memory(40, key_lanes * heads, ports, "reg"), _topk_mem(p))
    return Structure(macs=ports * key_lanes * heads, mac_type=str(p["elem_type"]), fp_ops=2 * PACK,
                     memories=mems, ports=total_ports(p), comparators=int(p["k_max"]))


# ---------------------------------------------------------------- 3.2 PQ / LUT indexer
def dsa_lut(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.2: 8 PEs; per 16-key round 64 subspace iterations (II=1) + 16 output packs; the single
    drain chain moves one 16-key x 1-head pack per cycle, so the kernel runs ~1 key/cycle."""
    batch, n, h, k = (shape[x] for x in ("batch", "num_keys", "num_heads", "k"))
    heads, ports = int(p["heads"]), int(p["hbm_ports"])
    if h > heads:
        raise ValueError(f"dsa_lut is built for {heads} heads, got num_heads={h}")
    sub = int(p["subspaces"])
    eb = elem_bytes(p)
    lines_per_iter = ceil_div(PACK * eb, BEAT_BYTES)  # 16 keys' codes of one subspace (25% of a line at int8)
    rounds = ceil_div(n, PACK)
    rounds_pe = ceil_div(rounds, ports)
    pe = rounds_pe * (sub * lines_per_iter + heads)
    drain = rounds * heads
    row = {"lut.round": rounds, "lut.pe_iter": rounds_pe * sub * lines_per_iter * ports, "lut.drain_pack": drain}
    tk, topk_cycles = study_topk(rounds * PACK, k, p)
    row.update(tk)
    kk = clamp_k(k, int(p["k_max"]))
    lut_lines = ceil_div(64 * 64, BEAT_BYTES)
    mem = memory_cycles(rounds_pe * sub * lines_per_iter, 1, p)  # each PE's code lines on its port
    cycles_row = (max(lut_lines, memory_cycles(lut_lines, 1, p)) + max(pe, drain, topk_cycles, mem)
                  + ceil_div(kk, PACK) + int(p["depth"]))
    bytes_row = BEAT_BYTES * (rounds * sub * lines_per_iter + ports * lut_lines + ceil_div(heads * sub, BEAT_BYTES)
                              + 1 + ceil_div(kk, PACK))
    return CycleEstimate(batch * cycles_row, batch * bytes_row, total_ports(p),
                         {n_: v * batch for n_, v in row.items()}, float(p["clock_hz"]))


def dsa_lut_structure(p: Mapping[str, object]) -> Structure:
    """LUT replicated 16x per PE (ap_uint<32>[16][64][16], dims 1 and 3 partitioned), psums 16x16."""
    ports, heads = int(p["hbm_ports"]), int(p["heads"])
    mems = (Memory(32, 64, heads * heads * ports, "bram"), Memory(16, PACK * heads, ports, "reg"), _topk_mem(p))
    # "dsp packing 8x(3 (dsp) + 1 (lut))": 16x16 int8 adds per PE, mostly packed into DSPs
    return Structure(macs=ports * PACK * heads, mac_type="int8", fp_ops=2 * PACK, memories=mems,
                     ports=total_ports(p), comparators=int(p["k_max"]))


# ---------------------------------------------------------------- 3.3 / 3.4 SeerAttention-R
def _seer_pe(shape: Mapping[str, int], p: Mapping[str, object]) -> tuple[int, int, int, int]:
    n, dim = shape["num_keys"], shape["head_dim"]
    ports = int(p["hbm_ports"])
    per_pe_max = int(p["keys_per_pe"])
    if dim > 128:
        raise ValueError(f"the study's Seer/LServe PEs hold HEAD_DIM=128, got head_dim={dim}")
    kpp = ceil_div(n, ports)
    if kpp > per_pe_max:
        raise ValueError(f"{n} keys over {ports} PEs exceed the BRAM key store ({per_pe_max} keys per PE, "
                         f"MAX_LEN {per_pe_max * ports})")
    eb = elem_bytes(p)
    iters = ceil_div(dim * eb, 8)  # two 32-bit words per iteration: 4 int16 (8 int8, 2 fp32)
    block = iters + 3  # + the 3-step reduction: ~35 cycles at int16
    blocks = ceil_div(kpp, 128)
    line = ceil_div(dim * eb, BEAT_BYTES)
    return kpp, blocks, block, line


def _seer_load(kpp: int, line: int, p: Mapping[str, object]) -> int:
    """Key preload into BRAM: kpp x line beats per PE on its own port, one per cycle at best."""
    return max(kpp * line, memory_cycles(kpp * line, 1, p))


def _stores(shape: Mapping[str, int]) -> tuple[int, int]:
    """(key stores, queries per store) of one call.

    The study's Seer/LServe kernels hold ONE head's keys in BRAM and run NUM_QUERY queries
    against them (heterollm.md sections 3.3-3.5). A call that covers several independent key
    stores (``num_memories``: sequences x KV heads, each with its own keys) runs the kernel once
    per store, each loading its keys again; the queries split evenly over the stores.
    """
    m = int(shape.get("num_memories", 1))
    return m, ceil_div(shape["batch"], m)


def seer_threshold(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.3: keys preloaded into BRAM (4 cycles per key per PE), then per query: q and one new key
    (4 beats each), and ~35 cycles per 128-key block per PE, a 128-bit bitmap per block.
    Once per key store of the call (``num_memories``, see :func:`_stores`)."""
    m, qs = _stores(shape)
    q = m * qs
    kpp, blocks, block, line = _seer_pe(shape, p)
    load = kpp * line
    per_q = 2 * line + blocks * block
    loops = {"seer.key_load": m * kpp * line, "seer.block": q * blocks, "seer.query": q}
    cycles = m * (_seer_load(kpp, line, p) + qs * per_q) + int(p["depth"])
    ports = int(p["hbm_ports"])
    hbm = BEAT_BYTES * ports * (m * load + q * 2 * line) + 16 * ports * q * blocks
    return CycleEstimate(cycles, hbm, total_ports(p), loops, float(p["clock_hz"]))


def seer_budget(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.4: same PEs; the PE cascade and the top-64 consume one 16-score pack per cycle
    (~16 keys/cycle), which bounds the per-query time. Once per key store (:func:`_stores`)."""
    m, qs = _stores(shape)
    q, k = m * qs, shape["k"]
    kpp, blocks, block, line = _seer_pe(shape, p)
    load = kpp * line
    n_pad = blocks * 128 * int(p["hbm_ports"])
    tk, topk_cycles = study_topk(n_pad, k, p)
    per_q = 2 * line + max(blocks * block, topk_cycles) + 4
    loops = {"seer.key_load": m * kpp * line, "seer.block": q * blocks, "seer.query": q}
    loops.update({n_: v * q for n_, v in tk.items()})
    cycles = m * (_seer_load(kpp, line, p) + qs * per_q) + int(p["depth"])
    hbm = BEAT_BYTES * (int(p["hbm_ports"]) * (m * load + q * 2 * line) + q * 4)
    return CycleEstimate(cycles, hbm, total_ports(p), loops, float(p["clock_hz"]))


def lserve(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.5: same PEs emit exact per-token scores; max over 8-token pages (two per 16-score
    pack), 2 pages from each of 8 channels packed per cycle, top-64 pages. Once per key store
    (:func:`_stores`)."""
    m, qs = _stores(shape)
    q, k = m * qs, shape["k"]
    kpp, blocks, block, line = _seer_pe(shape, p)
    load = kpp * line
    ports = int(p["hbm_ports"])
    pages = ceil_div(blocks * 128, int(p["page_tokens"])) * ports
    tk, topk_cycles = study_topk(pages, k, p)
    per_q = 2 * line + max(blocks * block, topk_cycles) + 4
    loops = {"lserve.key_load": m * kpp * line, "lserve.block": q * blocks, "lserve.page": q * pages}
    loops.update({n_: v * q for n_, v in tk.items()})
    cycles = m * (_seer_load(kpp, line, p) + qs * per_q) + int(p["depth"])
    hbm = BEAT_BYTES * (ports * (m * load + q * 2 * line) + q * 4)
    return CycleEstimate(cycles, hbm, total_ports(p), loops, float(p["clock_hz"]))


def seer_structure(p: Mapping[str, object], topk: bool) -> Structure:
    """Per PE: 4 elements x 128 keys MACs, ap_int<40>[4][128] accumulators, BRAM key store
    ap_uint<32>[64][keys_per_pe] (cyclic 2 x cyclic 128 = 256 banks)."""
    ports, eb = int(p["hbm_ports"]), elem_bytes(p)
    per_iter = max(1, 8 // eb)
    words = 128 * eb // 4 * int(p["keys_per_pe"])
    mems = [Memory(32, ceil_div(words, 256), 256 * ports, "bram"), Memory(40, 4 * 128, ports, "reg")]
    if topk:
        mems.append(_topk_mem(p))
    return Structure(macs=ports * per_iter * 128, mac_type=str(p["elem_type"]), memories=tuple(mems),
                     ports=total_ports(p), comparators=int(p["k_max"]) if topk else 128 * ports)


# ---------------------------------------------------------------- 3.7 BM25
def bm25_study(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.7: 4 cores x 16 lanes = 64 docs per super-batch, one (token, tf) word per lane per
    cycle; a super-batch takes as many cycles as its longest (filtered) document. df (4096
    beats) and the query bitmap (128 beats) stream through the core chain first. The kernel
    scores one query; ``num_queries`` queries run it back to back."""
    d, tok, k = shape["num_docs"], shape["doc_tokens"], shape["k"]
    nq = int(shape.get("num_queries", 1))
    ports = int(p["hbm_ports"])
    eb = elem_bytes(p)
    lanes = BEAT_BYTES // eb  # words per 512-bit beat: 16 packed (token | tf) words
    per_sb = ports * lanes
    sbs = ceil_div(d, per_sb)
    kept = ceil_div(tok, 16) if p["mod16_filter"] else tok
    setup = int(p["df_beats"]) + int(p["bitmap_beats"])
    tk, topk_cycles = study_topk(sbs * per_sb, k, p)
    loops = {"bm25s.superbatch": sbs, "bm25s.token_cycle": sbs * kept, "bm25s.kept_tokens": kept}
    loops.update(tk)
    kk = clamp_k(k, int(p["k_max"]))
    stream = max(sbs * kept, topk_cycles, memory_cycles(sbs * kept, 1, p))  # each doc port: sbs*kept beats
    cycles = max(setup, memory_cycles(setup, 1, p)) + stream + ceil_div(kk, PACK) + int(p["depth"])
    hbm = BEAT_BYTES * (setup + sbs + ports * sbs * kept + ceil_div(kk, PACK))
    return CycleEstimate(nq * cycles, nq * hbm, total_ports(p), {n_: v * nq for n_, v in loops.items()},
                         float(p["clock_hz"]))


def bm25_study_structure(p: Mapping[str, object]) -> Structure:
    """Per core: int df_buf[16][4096] and 16 copies of the 65536-bit query bitmap, 16 lanes of
    idf (log, recip) + tf weight (recip) + mul/acc in fp32."""
    ports = int(p["hbm_ports"])
    lanes = BEAT_BYTES // elem_bytes(p)
    mems = (Memory(32, 4096, lanes * ports, "bram"), Memory(512, 128, lanes * ports, "bram"), _topk_mem(p))
    return Structure(macs=0, mac_type="fp32", fp_ops=ports * lanes * 6, memories=mems, ports=total_ports(p),
                     comparators=int(p["k_max"]))


# ---------------------------------------------------------------- 3.8 Engram
def engram_study(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.8: KV projection weights (rows x 1024) stream once into URAM over ``lanes`` ports
    (40960 beats each at 8); then per PAIR of tokens each of the ``lanes`` chained projection
    tasks runs rows/16 blocks x 16 iterations (II=1); 16 head rows (4 beats each) are gathered
    per token on 16 ports, hidden behind the projection."""
    n = shape["num_tokens"]
    rows, hidden = int(p["proj_rows"]), int(p["hidden"])
    lanes, eb = int(p["lanes"]), elem_bytes(p)
    wbeat = 32  # kv_weight_mem lines are 256-bit
    load = ceil_div(rows * hidden * eb, lanes * wbeat)
    per_pair = ceil_div(rows, 16) * 16 * ceil_div(8 * eb, 2 * lanes)  # 16 URAM words x 4 int16 per iteration at 8 lanes
    heads = int(p["heads"])
    gather = n * ceil_div(int(p["embed_dim"]) * eb, 32)
    loops = {"engram.weight_line": load * lanes, "engram.token_pair": ceil_div(n, 2),
             "engram.gather_line": n * heads * ceil_div(int(p["embed_dim"]) * eb, 32)}
    load = max(load, memory_cycles(load, 1, p, wbeat))  # each weight port: load 256-bit lines
    gather = max(gather, memory_cycles(gather, 1, p, 32))
    cycles = load + max(ceil_div(n, 2) * per_pair, gather) + int(p["depth"])
    hbm = rows * hidden * eb + n * heads * int(p["embed_dim"]) * eb + n * rows * 2 + 4 * n
    return CycleEstimate(cycles, hbm, total_ports(p), loops, float(p["clock_hz"]))


def engram_study_structure(p: Mapping[str, object]) -> Structure:
    """Per projection task: URAM ap_uint<64>[163840] cyclic 40, 2 tokens x 4 rows x 32 MACs."""
    lanes, eb = int(p["lanes"]), elem_bytes(p)
    words = ceil_div(int(p["proj_rows"]) * int(p["hidden"]) * eb, 8 * lanes)
    mems = (Memory(64, ceil_div(words, 40), 40 * lanes, "uram"),)
    return Structure(macs=lanes * 2 * 4 * 32, mac_type=str(p["elem_type"]), memories=mems, ports=total_ports(p),
                     comparators=0)


# ---------------------------------------------------------------- 3.9 MoE expert lanes
def moe_study(shape: Mapping[str, int], p: Mapping[str, object]) -> CycleEstimate:
    """§3.9: gate GEMV from URAM (256 experts x hidden), then ``lanes`` expert lanes each with
    ``hbm_ports`` ports (W1, W3, W2 split even/odd: 2 rows per cycle at 6 ports). W1/W3:
    inter/2 row pairs x hidden beats; then W2: hidden/2 row pairs x inter beats (229,376 cycles
    each at DeepSeek-V3.2 sizes, int16)."""
    n, hid, inter, e = (shape[x] for x in ("num_tokens", "hidden", "inter", "experts_per_token"))
    lanes, ports, eb = int(p["lanes"]), int(p["hbm_ports"]), elem_bytes(p)
    rpar = max(1, ports // 3)
    w13 = ceil_div(inter, rpar) * ceil_div(hid * eb, BEAT_BYTES)
    w2 = ceil_div(hid, rpar) * ceil_div(inter * eb, BEAT_BYTES)
    gate = int(p["num_experts"]) * ceil_div(hid * 2, BEAT_BYTES)  # W_gate stays int16 in URAM
    rounds = ceil_div(e, lanes)
    # every weight port streams its own rows: one beat per cycle, or its channel's rate
    per_tok = gate + rounds * (max(w13, memory_cycles(w13, 1, p)) + max(w2, memory_cycles(w2, 1, p)))
    loops = {"moe.gate_beat": n * gate, "moe.w13_beat": n * rounds * w13, "moe.w2_beat": n * rounds * w2}
    cycles = n * per_tok + int(p["depth"])
    hbm = n * (e * 3 * hid * inter * eb + hid * 2 + hid * 4)
    return CycleEstimate(cycles, hbm, moe_ports(p), loops, float(p["clock_hz"]))


def moe_ports(p: Mapping[str, object]) -> int:
    """``hbm_ports`` per expert lane x lanes + the shared x, gate, bias and y ports."""
    return int(p["lanes"]) * int(p["hbm_ports"]) + int(p["aux_ports"])


def moe_study_structure(p: Mapping[str, object]) -> Structure:
    """Per lane: 2 rows x beat elements MACs for each of W1/W3 (shared by W2); W_gate in URAM."""
    lanes, ports, eb = int(p["lanes"]), int(p["hbm_ports"]), elem_bytes(p)
    epb = BEAT_BYTES // eb
    rpar = max(1, ports // 3)
    gate = Memory(64, 256 * 224, 8, "uram")
    return Structure(macs=lanes * 2 * rpar * epb + 8 * 4, mac_type=str(p["elem_type"]), fp_ops=lanes * 8,
                     memories=(gate,), ports=moe_ports(p), comparators=256)


def _d(name, desc, top, defaults, keys, model, structure, note, sweep, aliases=None) -> Design:
    header = "hls/include/dsa_vanilla.h" if name == "study_dsa_vanilla" else HL
    return Design(name=name, description=desc, header=header, top=top, defaults=defaults, shape_keys=keys,
                  model=model, structure=structure, study_note=note, sweep=sweep, aliases=aliases or {})


STUDY_DESIGNS: dict[str, Design] = {d.name: d for d in (
    _d("study_dsa_vanilla", "the study's vanilla DSA indexer: 16 heads x 128 dims int16, 8 PEs on 8 ports, top-2048",
       "indexer_top", _base(hbm_ports=8, aux_ports=2, heads=16, port_bits=256, k_max=2048),
       ("batch", "num_keys", "num_heads", "head_dim", "k"), dsa_vanilla, dsa_vanilla_structure,
       "the ~32 cycles/16 keys hold only while the top-2048 keeps up: its pipeline-off inner loop costs "
       "16 cycles per pack with a candidate plus log2(2048) per replacement, which dominates for random "
       "order until n >> 64 K; ids come out unsorted",
       {"hbm_ports": (2, 4, 8, 16), "elem_type": SWEEP_INT}),
    _d("study_dsa_lut", "the study's PQ/LUT DSA indexer: 64 uint8 codes per key, 16 heads, 8 PEs, top-64",
       "indexer_top", _base(hbm_ports=8, aux_ports=3, heads=16, subspaces=64, elem_type="int8"),
       ("batch", "num_keys", "num_heads", "k"), dsa_lut, dsa_lut_structure,
       "one drain chain caps it at ~1 key/cycle although the PEs do 1.6; only 25% of each 64 B line is "
       "used; header and host disagree on the code-line count ((L*128)>>8 vs >>10); HW uses one LUT for "
       "all subspaces; the TB comparison is commented out (not functionally checked)",
       {"hbm_ports": (2, 4, 8, 16), "elem_type": ("int8", "int16", "fp32")}),
    _d("study_seer_threshold", "the study's SeerAttention-R threshold indexer: 8 PEs, int16 keys in BRAM, "
       "128-bit bitmap per 128-key block", "indexer_top", _base(hbm_ports=8, aux_ports=0, keys_per_pe=2048),
       ("batch", "num_keys", "head_dim"), seer_threshold, lambda p: seer_structure(p, False),
       "keys live in BRAM: at most 2048 per PE (MAX_LEN 16384); the checked-in TBs pack keys in the "
       "natural layout while the kernel reads them transposed",
       {"hbm_ports": (2, 4, 8, 16), "elem_type": SWEEP_INT}),
    _d("study_seer_budget", "the study's SeerAttention-R token-budget indexer: 8 cascaded PEs + top-64",
       "indexer_top", _base(hbm_ports=8, aux_ports=1, keys_per_pe=2048),
       ("batch", "num_keys", "head_dim", "k"), seer_budget, lambda p: seer_structure(p, True),
       "the cascade and top-64 take one 16-score pack per cycle (~16 keys/cycle), below the PEs' ~29; "
       "BRAM limits the context to 16384 keys",
       {"hbm_ports": (2, 4, 8, 16), "elem_type": SWEEP_INT}),
    _d("study_lserve", "the study's LServe page selection: exact q.k per token, max over 8-token pages, top-64",
       "indexer_top", _base(hbm_ports=8, aux_ports=1, keys_per_pe=2048, page_tokens=8),
       ("batch", "num_keys", "head_dim", "k"), lserve, lambda p: seer_structure(p, True),
       "computes exact per-token scores then a max (true LServe/Quest bound pages from min/max keys and "
       "read far less); the TB reference uses 16-token pages, the kernel 8",
       {"hbm_ports": (2, 4, 8, 16), "elem_type": SWEEP_INT}),
    _d("study_bm25", "the study's fused BM25 + top-64: 4 cores x 16 lanes on 4 doc ports",
       "indexer_top", _base(hbm_ports=4, aux_ports=4, elem_type="int32", mod16_filter=True,
                            df_beats=4096, bitmap_beats=128),
       ("num_docs", "doc_tokens", "k"), bm25_study, bm25_study_structure,
       "df is banked by token id mod 16, so the host drops every token with id % 16 != doc % 16 "
       "(~15/16 of tokens: mod16_filter=True prices that; False prices all tokens); no length "
       "normalisation (B unused), a non-standard IDF; the host drops the last 3 of the top-64",
       {"hbm_ports": (1, 2, 4, 8), "elem_type": ("int16", "int32")}),
    _d("study_engram", "the study's Engram: n-gram hash, 16 head-row gathers, KV projection 5120x1024 from URAM",
       "engram_fpga_top", _base(hbm_ports=24, aux_ports=3, lanes=8, heads=16, embed_dim=64, proj_rows=5120,
                                hidden=1024),
       ("num_tokens",), engram_study, engram_study_structure,
       "27 HBM ports in all (kernel_config.ini); weights reload on every call; the source comment says "
       "~5120 cycles per token, the loop structure gives 5120 per token PAIR; the TB feeds floats to an "
       "int16 header",
       {"lanes": (2, 4, 8), "elem_type": ("int8", "int16", "fp32")}),
    _d("study_moe", "the study's MoE expert lanes: 4 lanes x 6 HBM ports, int16 weights, gate from URAM",
       "moe_top", _base(hbm_ports=6, aux_ports=6, lanes=4, num_experts=256),
       ("num_tokens", "hidden", "inter", "experts_per_token"), moe_study, moe_study_structure,
       "simplified router (top-4 per half, not group-limited routing); 30 HBM ports per card in the "
       "dec_spec variant; W1/W3 and W2 phases are sequential per token",
       {"hbm_ports": (3, 6, 12), "lanes": (1, 2, 4), "elem_type": ("int8", "int16", "fp32")},
       # the moe workload's routed-experts task (kernel moe_experts) names these differently
       {"num_tokens": "tokens", "inter": "intermediate", "experts_per_token": "top_k"}),
)}
"""The study's designs (heterollm.md §3), name -> Design."""

