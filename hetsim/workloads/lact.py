"""LaCT: large-chunk test-time training -- fast weights updated per chunk, applied to every query.

Per layer (GQA backbone; fast weights: ``fw_heads`` SwiGLU MLPs of ``fw_dim`` x ``fw_hidden``
per sequence, kept as state):

* **Prepare Memory**: the update of the fast weights after the gradient (``fw_update``: read
  and write the three matrices; LaCT's Muon orthogonalisation is not modelled).
* **Compute Relevancy**: on a finished chunk of ``ttt_chunk`` tokens, the fast-weight MLP's
  forward on the chunk's keys (``fw_fwd_w1``, ``fw_fwd_w3``, ``fw_fwd_w2``) and the backward
  of the loss -f(k)^T v (``fw_bwd``: six GEMMs' worth, two per matrix).
* **Retrieval**: none (every token uses the whole fast weights).
* **Apply to Inference**: the updated fast weights applied to each query token (``fw_apply``,
  the three matrices), added to the output of a sliding-window attention (Model).

Each matrix is one GEMM of the chunk's tokens against every (sequence, head) pair's weights
side by side: FLOP and weight bytes are exact, the inputs are counted once (not per pair). In decode the
update runs at chunk boundaries (a step whose position is a multiple of ``ttt_chunk``); in
prefill the prompt is read in chunks of ``ttt_chunk``, each updating then applying.
Algorithm: Zhang et al., "Test-Time Training Done Right" (arXiv 2505.23884; chunks of 2K to
1M tokens). The study defines LaCT's types (fast-weight memory, loss score) but no kernels
(shared/reference/heterollm.md section 2); the sizes here are [E].
"""

from __future__ import annotations

import math

from typing import ClassVar

from pydantic import Field

from ..errors import ConfigError
from ..graph import Step, add_data
from .knobs import Rule, never
from .lm import Ctx, Iteration, LMParams, build_lm, estimate_tasks, ffn_tasks
from .models import resolve

DESCRIPTION = "LaCT: large-chunk test-time training, fast-weight SwiGLU update per chunk and apply per token"


class LactParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("qwen3-8b", description="backbone model preset (GQA)")
    ttt_chunk: int = Field(2048, ge=1, description="tokens per fast-weight update [E]")
    fw_heads: int = Field(4, ge=1, description="fast-weight heads per layer [E]")
    fw_dim: int = Field(1024, ge=1, description="fast-weight input/output width per head [E]")
    fw_hidden: int = Field(1024, ge=1, description="fast-weight MLP hidden width per head [E]")
    window: int = Field(2048, ge=1, description="sliding-window attention span [E]")

    prefill_chunk_param: ClassVar[str] = "ttt_chunk"
    applies_when: ClassVar[dict[str, Rule]] = {
        **LMParams.applies_when,
        "prefill_chunk": never("not read: lact reads its prompt in chunks of ttt_chunk"),
    }


def plan(p: LactParams, b: int, j: int) -> list[Iteration]:
    mb = p.micro_batches > 1
    if p.phase == "decode":
        return [Iteration("s", s, b, 1, p.context_len + s, j, mb,
                          retrieve=p.ttt_chunk if (p.context_len + s) % p.ttt_chunk == 0 else 0)
                for s in range(p.steps)]
    out, pos, c = [], 0, 0
    while pos < p.context_len:
        t = min(p.ttt_chunk, p.context_len - pos)
        out.append(Iteration("c", c, b, t, pos, j, mb, head=pos + t >= p.context_len, retrieve=t))
        pos, c = pos + t, c + 1
    return out


def build(p: LactParams):
    """Return the task graph."""
    d = resolve(p)
    if d.attention != "gqa":
        raise ConfigError(f"lact needs a GQA backbone; {p.model!r} uses {d.attention}", field="workload.params.model")

    def data(g, p, d):
        add_data(g, "fast_weights", p.batch * d.num_layers * p.fw_heads * 3 * p.fw_dim * p.fw_hidden * p.elem_bytes)

    return build_lm(p, "lact", lambda c, prev: _layer(c, prev, p), data=data, dims=d, plan=plan)


def _layer(c: Ctx, prev, p: LactParams):
    d, it, eb = c.d, c.it, c.eb
    B, R = it.batch, it.rows
    W = B * p.fw_heads  # (sequence, head) pairs, each with its own fast weights
    Dm, Hm = p.fw_dim, p.fw_hidden
    q = c.qkv(prev)
    qkv_bytes = R * (d.num_heads + 2 * d.num_kv_heads) * d.head_dim * eb
    a = c.attn("attn", min(it.keys, p.window + it.new_tokens - 1))
    c.edge(q, a, qkv_bytes)
    ready = q
    if it.retrieve:  # a finished chunk of keys and values trains the fast weights
        C = it.retrieve
        f1 = c.gemm("fw_fwd_w1", Dm, W * Hm, Step.COMPUTE_RELEVANCY, rows=C, data=("fast_weights",))
        f3 = c.gemm("fw_fwd_w3", Dm, W * Hm, Step.COMPUTE_RELEVANCY, rows=C, data=("fast_weights",))
        f2 = c.gemm("fw_fwd_w2", Hm, W * Dm, Step.COMPUTE_RELEVANCY, rows=C, data=("fast_weights",))
        # backward: grad of input and of weights for each of the three matrices (2x forward)
        bw = c.gemm("fw_bwd", Dm, 6 * W * Hm, Step.COMPUTE_RELEVANCY, rows=C, data=("fast_weights",))
        up = c.task("fw_update", Step.PREPARE_MEMORY, "elementwise",
                    {"num_elems": W * 3 * Dm * Hm, "elem_bytes": eb}, data=("fast_weights",))
        for f in (f1, f3):
            c.edge(q, f, C * W * Dm * eb)
            c.edge(f, f2, C * W * Hm * eb)
        c.edge(f2, bw, C * W * Dm * eb)
        c.edge(bw, up, W * 3 * Dm * Hm * eb)
        ready = up
    ap = c.gemm("fw_apply", Dm, 3 * W * Hm, Step.APPLY_TO_INFERENCE, rows=it.new_tokens, data=("fast_weights",))
    c.edge(ready, ap, R * Dm * eb)
    if ready is not q:
        c.edge(q, ap, R * Dm * eb)
    o = c.o_proj([a, ap])
    return c.ffn(o)


def estimate(p: LactParams) -> int:
    """Task count without building the graph."""
    d = resolve(p)
    updates = sum(1 for it in plan(p, 1, 0) if it.retrieve)
    base = estimate_tasks(p, lambda d, i: 4 + ffn_tasks(d, i))
    return base + p.micro_batches * updates * d.num_layers * 5
