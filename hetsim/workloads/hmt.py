"""HMT: hierarchical memory transformer -- a memory embedding per segment, searched per segment.

The backbone reads the context in segments of ``segment_len`` tokens and attends only within
a segment (plus ``sensory_tokens`` carried from the previous one and one memory token). At
each segment boundary (every prefill segment; in decode, every ``segment_len`` generated
tokens):

* **Prepare Memory**: encode the segment's first half into a summary embedding
  (``mem_encode``: one backbone forward over ``segment_len / 2 + 1`` tokens, counted as its
  GEMMs); store the previous segment's memory embedding -- its key (``mem_k_proj``,
  ``mem_k_write``) and value (``mem_v_write``) -- in the memory cache.
* **Compute Relevancy**: project the summary into a query (``mem_q``) and score it against the
  ``min(num_memories, segments so far)`` cached memory keys (``mem_score``).
* **Retrieval**: the best ``recall_topk`` memories (``topk``).
* **Apply to Inference**: gather their embeddings (``mem_recall``, a softmax-weighted sum in
  HMT) and prepend the result to the segment as one memory token; the backbone then runs.

Algorithm: He et al., "HMT: Hierarchical Memory Transformer for Efficient Long Context
Language Processing" (NAACL 2025, arXiv 2405.06067); HMT cross-attends over all cached
memories, modelled here as a top-k search so that the study's fused inner-product + top-k FPGA
design can serve it. The study lists HMT's memory type but no kernel; ``segment_len``,
``num_memories``, ``recall_topk``, ``sensory_tokens`` and ``mem_key_dim`` are [E].
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..errors import ConfigError
from ..graph import Step, add_data
from .knobs import Rule, never
from .lm import Ctx, Iteration, LMParams, build_lm, estimate_tasks, ffn_tasks, layer_weight_elems
from .models import resolve

DESCRIPTION = "HMT: segment summaries, search over cached memory embeddings, memory token prepended per segment"


class HmtParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("llama-3.2-1b", description="backbone model preset (GQA)")
    segment_len: int = Field(1024, ge=2, description="tokens per segment [E]")
    num_memories: int = Field(300, ge=1, description="memory embeddings kept in the cache [E]")
    recall_topk: int = Field(8, ge=1, description="memories recalled per segment [E]")
    sensory_tokens: int = Field(32, ge=0, description="tokens carried from the previous segment [E]")
    mem_key_dim: int = Field(512, ge=1, le=1024, description="width of the memory keys searched [E]")

    prefill_chunk_param: ClassVar[str] = "segment_len"
    applies_when: ClassVar[dict[str, Rule]] = {
        **LMParams.applies_when,
        "prefill_chunk": never("not read: hmt reads its prompt in segments of segment_len"),
    }


def plan(p: HmtParams, b: int, j: int) -> list[Iteration]:
    mb, S = p.micro_batches > 1, p.segment_len
    if p.phase == "decode":
        return [Iteration("s", s, b, 1, p.context_len + s, j, mb,
                          retrieve=1 if (p.context_len + s) % S == 0 else 0) for s in range(p.steps)]
    out, pos, c = [], 0, 0
    while pos < p.context_len:
        t = min(S, p.context_len - pos)
        out.append(Iteration("c", c, b, t, pos, j, mb, head=pos + t >= p.context_len, retrieve=1))
        pos, c = pos + t, c + 1
    return out


def build(p: HmtParams):
    """Return the task graph."""
    d = resolve(p)
    if d.attention != "gqa":
        raise ConfigError(f"hmt needs a GQA backbone; {p.model!r} uses {d.attention}", field="workload.params.model")

    def data(g, p, d):
        add_data(g, "mem_keys", p.batch * p.num_memories * p.mem_key_dim * p.elem_bytes)
        add_data(g, "mem_values", p.batch * p.num_memories * d.hidden_size * p.elem_bytes)
        add_data(g, "mem_weights", (2 * d.hidden_size * p.mem_key_dim) * p.elem_bytes)

    return build_lm(p, "hmt", lambda c, prev: _layer(c, prev, p), data=data, dims=d, plan=plan,
                    before=lambda c, prev: _memory(c, prev, p))


def _memory(c: Ctx, prev, p: HmtParams):
    it, d, eb = c.it, c.d, c.eb
    if not it.retrieve:
        return prev
    B, H, dk = it.batch, d.hidden_size, p.mem_key_dim
    per_token = d.num_layers * (layer_weight_elems(d) + 3 * H * d.intermediate_size)
    enc = c.task("mem_encode", Step.PREPARE_MEMORY, "gemm",
                 {"m": B * (p.segment_len // 2 + 1), "k": H, "n": max(1, per_token // H), "elem_bytes": eb},
                 data=("weights",))
    kp = c.gemm("mem_k_proj", H, dk, Step.PREPARE_MEMORY, rows=B, data=("mem_weights",))
    kw = c.task("mem_k_write", Step.PREPARE_MEMORY, "index_key_write",
                {"batch": B, "head_dim": dk, "elem_bytes": eb}, data=("mem_keys",))
    vw = c.task("mem_v_write", Step.PREPARE_MEMORY, "index_key_write",
                {"batch": B, "head_dim": H, "elem_bytes": eb}, data=("mem_values",))
    if prev is not None:
        for t in (enc, kp, vw):
            c.edge(prev, t, c.it.batch * H * eb)
    c.edge(kp, kw, B * dk * eb)
    n_mem = min(p.num_memories, it.pos // p.segment_len)
    if n_mem == 0:  # nothing cached yet: only the summary is built
        c.edge(kw, enc, 0)
        c.edge(vw, enc, 0)
        return enc
    k = min(p.recall_topk, n_mem)
    q = c.gemm("mem_q", H, dk, Step.COMPUTE_RELEVANCY, rows=B, data=("mem_weights",))
    sc = c.task("mem_score", Step.COMPUTE_RELEVANCY, "inner_product_score",
                {"batch": B, "num_items": n_mem, "dim": dk, "elem_bytes": eb, "shared_memory_factor": B},
                data=("mem_keys",))
    tk = c.task("topk", Step.RETRIEVAL, "topk", {"batch": B, "num_items": n_mem, "k": k}, dtype="fp32")
    rc = c.task("mem_recall", Step.APPLY_TO_INFERENCE, "kv_gather",
                {"batch": B, "num_selected": k, "row_elems": H, "elem_bytes": eb}, data=("mem_values",))
    c.edge(enc, q, B * H * eb)
    c.edge(q, sc, B * dk * eb)
    c.edge(kw, sc, 0)
    c.edge(sc, tk, B * n_mem * 4)
    c.edge(tk, rc, B * k * 4)
    c.edge(vw, rc, 0)
    return rc


def _layer(c: Ctx, prev, p: HmtParams):
    it = c.it
    within = it.pos % p.segment_len + it.new_tokens  # keys of the current segment
    keys = min(it.keys, within + p.sensory_tokens) + 1  # + the memory token
    return c.ffn(c.gqa_block(prev, num_keys=keys))


def estimate(p: HmtParams) -> int:
    """Task count without building the graph."""
    d = resolve(p)
    mem = 0
    for it in plan(p, 1, 0):
        if it.retrieve:
            mem += 4 + (4 if min(p.num_memories, it.pos // p.segment_len) else 0)
    return estimate_tasks(p, lambda d, i: 3 + ffn_tasks(d, i)) + p.micro_batches * mem
