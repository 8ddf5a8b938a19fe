"""MemAgent: read a long context chunk by chunk, rewriting a fixed-size text memory each time.

For each of ceil(context_len / chunk_tokens) chunks, the model reads a fresh prompt of the
question, the current memory and the chunk, then writes the new memory:

* **Compute Relevancy** (``m{c}.*``): prefill of ``query_tokens + memory_tokens +
  chunk_tokens`` tokens -- the model reads the chunk against the question and its memory.
* **Prepare Memory** (``w{c}.*``): the memory is rewritten: ``memory_tokens`` tokens decoded
  one after another over that prompt. Each layer's run of decode tokens is one task per
  kernel (``gemv_steps`` for the projections and FFN, ``attention_steps`` for attention over
  the growing prompt): FLOP and bytes are those of the sequential steps, summed.
* **Retrieval**: none -- the rewritten memory is what the model keeps (the study's table:
  "best memories / rewritten memory").
* **Apply to Inference** (``a0.*``): prefill of the question and the final memory; with
  ``phase: decode`` then ``steps`` answer tokens (Model) over it.

The context never enters a KV cache longer than one chunk's prompt, so the work is linear in
the context and the memory-processing share grows with it. Algorithm: Yu et al., "MemAgent:
Reshaping Long-Context LLM with Multi-Conv RL-based Memory Agent" (arXiv 2507.02259; chunks
of 5000 tokens, a 1024-token memory). The study lists MemAgent's text memory type but no
kernel; ``query_tokens`` is [E]. No FPGA design applies (every task is dense).
"""

from __future__ import annotations

import math

from pydantic import Field

from ..errors import ConfigError
from ..graph import Step
from .lm import Ctx, Iteration, LMParams, build_lm, check_layers, estimate_tasks, ffn_tasks

DESCRIPTION = "MemAgent: chunked reading, fixed-size memory rewritten by the model per chunk, answer from the memory"


class MemAgentParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("qwen3-8b", description="model preset (GQA)")
    chunk_tokens: int = Field(5000, ge=1, description="context tokens read per chunk")
    memory_tokens: int = Field(1024, ge=1, description="tokens of the rewritten memory")
    query_tokens: int = Field(256, ge=1, description="tokens of the question [E]")


def plan(p: MemAgentParams, b: int, j: int) -> list[Iteration]:
    mb, Q, M = p.micro_batches > 1, p.query_tokens, p.memory_tokens
    out = []
    for c in range(math.ceil(p.context_len / p.chunk_tokens)):
        C = min(p.chunk_tokens, p.context_len - c * p.chunk_tokens)
        out.append(Iteration("m", c, b, Q + M + C, 0, j, mb, label=Step.COMPUTE_RELEVANCY, head=False))
        # the rewrite: M tokens decoded after the prompt (collapsed per kernel, see module doc)
        out.append(Iteration("w", c, b, M, Q + M + C, j, mb, label=Step.PREPARE_MEMORY, head=False, retrieve=M))
    out.append(Iteration("a", 0, b, Q + M, 0, j, mb, label=Step.APPLY_TO_INFERENCE, head=p.phase == "prefill"))
    if p.phase == "decode":
        out += [Iteration("s", s, b, 1, Q + M + s, j, mb) for s in range(p.steps)]
    return out


def build(p: MemAgentParams):
    """Return the task graph."""
    from .models import resolve

    d = resolve(p)
    if d.attention != "gqa":
        raise ConfigError(f"memagent needs a GQA model; {p.model!r} uses {d.attention}", field="workload.params.model")
    return build_lm(p, "memagent", lambda c, prev: _layer(c, prev, p), dims=d, plan=plan)


def _layer(c: Ctx, prev, p: MemAgentParams):
    if c.it.kind != "w":
        return c.ffn(c.gqa_block(prev))
    d, it, eb, B, S = c.d, c.it, c.eb, c.it.batch, c.it.retrieve
    step = it.label

    def steps_gemm(name, k, n, data=("weights",)):
        return c.task(name, step, "gemv_steps", {"steps": S, "m": B, "k": k, "n": n, "elem_bytes": eb}, data=data)

    qkv = steps_gemm("qkv", d.hidden_size, (d.num_heads + 2 * d.num_kv_heads) * d.head_dim, ("weights", "kv_cache"))
    at = c.task("attn", step, "attention_steps",
                {"batch": B, "num_heads": d.num_heads, "num_kv_heads": d.num_kv_heads, "head_dim": d.head_dim,
                 "start_keys": it.pos, "steps": S, "elem_bytes": eb}, data=("kv_cache",))
    o = steps_gemm("o_proj", d.num_heads * d.head_dim, d.hidden_size)
    up = steps_gemm("mlp_up", d.hidden_size, 2 * d.intermediate_size)
    dn = steps_gemm("mlp_down", d.intermediate_size, d.hidden_size)
    if prev is not None:
        c.edge(prev, qkv, S * B * d.hidden_size * eb)
    c.edge(qkv, at, S * B * (d.num_heads + 2 * d.num_kv_heads) * d.head_dim * eb)
    c.edge(at, o, S * B * d.num_heads * d.head_dim * eb)
    c.edge(o, up, S * B * d.hidden_size * eb)
    c.edge(up, dn, S * B * d.intermediate_size * eb)
    if c.layer == d.num_layers - 1 and p.lm_head:
        head = steps_gemm("lm_head", d.hidden_size, d.vocab_size)
        c.edge(dn, head, S * B * d.hidden_size * eb)
        return head
    return dn


def estimate(p: MemAgentParams) -> int:
    """Task count without building the graph."""
    from .models import resolve

    d = resolve(p)
    check_layers(d)
    chunks = math.ceil(p.context_len / p.chunk_tokens)
    dense = sum(3 + ffn_tasks(d, i) for i in range(d.num_layers))
    per_mb = chunks * (dense + 5 * d.num_layers + (1 if p.lm_head else 0)) + dense
    per_mb += (p.steps * (dense + (1 if p.lm_head else 0)) if p.phase == "decode"
               else (1 if p.lm_head else 0))
    return p.micro_batches * per_mb
