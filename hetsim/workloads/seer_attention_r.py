"""SeerAttention-R: a learned gate over pooled block keys picks the KV blocks each decode step reads.

Per layer (GQA models; ``R`` = sequences x new tokens, ``nb`` = ceil(keys / block_size)):

* **Prepare Memory**: pool each block of ``block_size`` keys per KV head into one gate key
  (``blk_pool``, on the GPU) and write it to the pooled-key cache (``blk_write``); in decode the
  current block's pooled key is updated every step, in prefill every block of the chunk is
  pooled as the prompt is read.
* **Compute Relevancy** (decode): the gate's query projection (``gate_q``) and one score per
  (KV head, block) against the pooled keys (``gate_score``: nb x head_dim MAC per query row
  and KV head).
* **Retrieval**: ``select: budget`` keeps the top ``token_budget / block_size`` blocks
  (``topk``); ``select: threshold`` keeps the blocks whose score passes the threshold
  (``threshold_bitmap``), a fraction ``threshold_keep`` of them [E].
* **Apply to Inference**: block-sparse attention over the selected blocks (``sparse_attn``).

Prefill is dense (SeerAttention-R sparsifies decoding), but the pooled keys are built as the
prompt is read. Algorithm: Gao et al., "SeerAttention-R: Sparse Attention Adaptation for Long
Reasoning" (arXiv 2506.08889), block size 64, token budgets of a few thousand. The gate here
pools keys only (the paper's gate adds a small linear layer on the pooled keys). The study ran
the gate score + top-64 (token budget) or threshold -> bitmap on the U55C; in hetsim the U55C
preset runs budget mode through its fused inner-product + top-k design, while threshold-mode
gate scores stay on the GPU (no listed FPGA design streams scores into a bitmap).
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from ..errors import ConfigError
from ..graph import Step, add_data
from .knobs import Rule, only_with
from .lm import Ctx, LMParams, build_lm, estimate_tasks, ffn_tasks, final_context
from .models import resolve

DESCRIPTION = ("SeerAttention-R: pooled block keys, gate score per block, top blocks within a "
               "token budget (or threshold bitmap), block-sparse attention")


class SeerParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("qwen3-14b", description="model preset (GQA)")
    block_size: int = Field(64, ge=1, description="keys per gate block")
    token_budget: int = Field(4096, ge=1, description="(budget) tokens attended per step")
    select: Literal["budget", "threshold"] = Field("budget", description="top-k within a budget or a threshold bitmap")
    threshold_keep: float = Field(0.1, gt=0, le=1, description="(threshold) fraction of blocks that pass [E]")

    applies_when: ClassVar[dict[str, Rule]] = {
        **LMParams.applies_when,
        "token_budget": only_with("select", "budget"),
        "threshold_keep": only_with("select", "threshold"),
    }


def build(p: SeerParams):
    """Return the task graph."""
    d = resolve(p)
    if d.attention != "gqa":
        raise ConfigError(f"seer_attention_r needs a GQA model; {p.model!r} uses {d.attention}",
                          field="workload.params.model")

    def data(g, p, d):
        nb = math.ceil(final_context(p) / p.block_size)
        add_data(g, "block_keys", p.batch * d.num_kv_heads * nb * d.head_dim * p.elem_bytes * d.num_layers)

    return build_lm(p, "seer_attention_r", lambda c, prev: _layer(c, prev, p), data=data, dims=d)


def selected_blocks(p: SeerParams, nb: int) -> int:
    if p.select == "budget":
        return min(nb, max(1, p.token_budget // p.block_size))
    return min(nb, max(1, math.ceil(p.threshold_keep * nb)))


def _layer(c: Ctx, prev, p: SeerParams):
    d, it, eb = c.d, c.it, c.eb
    B, R, KV, hd = it.batch, it.rows, d.num_kv_heads, d.head_dim
    q = c.qkv(prev)
    new_blocks = max(1, math.ceil(it.new_tokens / p.block_size))
    pool = c.task("blk_pool", Step.PREPARE_MEMORY, "block_pool",
                  {"batch": B * KV, "num_keys": it.new_tokens, "block_size": p.block_size,
                   "head_dim": hd, "elem_bytes": eb})
    write = c.task("blk_write", Step.PREPARE_MEMORY, "index_key_write",
                   {"batch": B * KV * new_blocks, "head_dim": hd, "elem_bytes": eb}, data=("block_keys",))
    c.edge(q, pool, R * KV * hd * eb)
    c.edge(pool, write, B * KV * new_blocks * hd * eb)
    if it.kind == "c":  # prefill: dense attention; the pooled keys are built as the prompt is read
        a = c.attn("attn", c.it.keys)
        c.edge(q, a, R * (d.num_heads + 2 * KV) * hd * eb)
        c.edge(write, a, 0)
        return c.ffn(c.o_proj([a]))
    nb = math.ceil(it.keys / p.block_size)
    kb = selected_blocks(p, nb)
    gq = c.gemm("gate_q", d.num_heads * hd, KV * hd, Step.COMPUTE_RELEVANCY)
    score_kernel = "inner_product_score" if p.select == "budget" else "block_gate_score"
    # hints for the study's Seer designs, which scan every key of one KV head (num_keys, head_dim)
    # per key store (num_memories = sequences x KV heads); the work formulas ignore them
    sc = c.task("gate_score", Step.COMPUTE_RELEVANCY, score_kernel,
                {"batch": R * KV, "num_items": nb, "dim": hd, "elem_bytes": eb,
                 "shared_memory_factor": B * KV, "num_keys": it.keys, "head_dim": hd,
                 "num_memories": B * KV}, data=("block_keys",))
    if p.select == "budget":
        sel = c.task("topk", Step.RETRIEVAL, "topk", {"batch": R * KV, "num_items": nb, "k": kb}, dtype="fp32")
        sel_bytes = R * KV * kb * 4
    else:
        sel = c.task("bitmap", Step.RETRIEVAL, "threshold_bitmap", {"batch": R * KV, "num_items": nb}, dtype="fp32")
        sel_bytes = R * KV * ((nb + 7) // 8)
    a = c.attn("sparse_attn", min(it.keys, kb * p.block_size), Step.APPLY_TO_INFERENCE)
    c.edge(q, gq, R * d.num_heads * hd * eb)
    c.edge(gq, sc, R * KV * hd * eb)
    c.edge(write, sc, 0)
    c.edge(sc, sel, R * KV * nb * 4)
    c.edge(sel, a, sel_bytes)
    c.edge(q, a, R * (d.num_heads + 2 * KV) * hd * eb)
    return c.ffn(c.o_proj([a]))


def estimate(p: SeerParams) -> int:
    """Task count without building the graph."""
    return estimate_tasks(p, lambda d, i: 3 + 2 + ffn_tasks(d, i) + (3 if p.phase == "decode" else 0))
