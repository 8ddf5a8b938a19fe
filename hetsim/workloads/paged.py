"""Quest and LServe: per-page min/max key bounds choose the KV pages each decode step reads.

Per layer (GQA models; ``np`` = ceil(keys / page_size)):

* **Prepare Memory**: element-wise min and max of the keys of each page per KV head
  (``page_minmax``, GPU) written to the page metadata (``page_write``); updated every decode
  step for the current page, built page by page as a prompt is read.
* **Compute Relevancy** (decode): Quest's upper bound ``sum_d max(q_d kmin_d, q_d kmax_d)``
  per page and query head (``page_score``: 2 x np x head_dim reads per query head).
* **Retrieval**: the top ``token_budget / page_size`` pages (``topk``).
* **Apply to Inference**: attention over the selected pages (``sparse_attn``). LServe also
  turns a fraction of the KV heads into streaming heads that attend to ``sink_tokens`` +
  ``local_tokens`` only and need no page selection (``stream_attn``); its page selection
  serves the dense heads.

Prefill attends densely (streaming heads excepted in LServe); page metadata is built as the
prompt is read. Algorithms: Tang et al., "Quest: Query-Aware Sparsity for Efficient
Long-Context LLM Inference" (ICML 2024, pages of 16, budgets 1-4K tokens); Yang et al.,
"LServe: Efficient Long-sequence LLM Serving with Unified Sparse Attention" (MLSys 2025, half
the heads streaming). The study ran page scoring + top-64 pages on the U55C (max over 8-token
pages in its ``lserve`` kernel; shared/reference/heterollm.md section 2).
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from ..errors import ConfigError
from ..graph import Step, add_data
from .knobs import Rule, only_if_positive
from .lm import Ctx, LMParams, build_lm, estimate_tasks, ffn_tasks, final_context
from .models import resolve

QUEST_DESCRIPTION = "Quest: per-page min/max keys, page upper bounds, top pages within a token budget, sparse attention"
LSERVE_DESCRIPTION = ("LServe: Quest-style page selection for dense heads plus streaming heads "
                      "(attention sinks + local window)")


class QuestParams(LMParams):
    """Parameters of the ``quest`` workload."""

    model: str = Field("llama-3.1-8b", description="model preset (GQA)")
    page_size: int = Field(16, ge=1, description="tokens per page")
    token_budget: int = Field(4096, ge=1, description="tokens attended per step")


class LServeParams(QuestParams):
    """Parameters of the ``lserve`` workload."""

    streaming_fraction: float = Field(0.5, ge=0, lt=1, description="share of KV heads that are streaming heads")
    sink_tokens: int = Field(64, ge=0, description="streaming heads: leading tokens kept [E]")
    local_tokens: int = Field(256, ge=1, description="streaming heads: recent tokens kept [E]")

    applies_when: ClassVar[dict[str, Rule]] = {
        **QuestParams.applies_when,
        "sink_tokens": only_if_positive("streaming_fraction"),
        "local_tokens": only_if_positive("streaming_fraction"),
    }


def _split(p, d) -> tuple[int, int]:
    """(dense KV heads, streaming KV heads)."""
    s = int(round(getattr(p, "streaming_fraction", 0.0) * d.num_kv_heads))
    s = min(s, d.num_kv_heads - 1)
    return d.num_kv_heads - s, s


def _build(p, title: str):
    d = resolve(p)
    if d.attention != "gqa":
        raise ConfigError(f"{title} needs a GQA model; {p.model!r} uses {d.attention}", field="workload.params.model")
    dense_kv, _ = _split(p, d)

    def data(g, p, d):
        npg = math.ceil(final_context(p) / p.page_size)
        add_data(g, "page_meta", p.batch * dense_kv * npg * 2 * d.head_dim * p.elem_bytes * d.num_layers)

    return build_lm(p, title, lambda c, prev: _layer(c, prev, p), data=data, dims=d)


def build_quest(p: QuestParams):
    """Return the Quest task graph."""
    return _build(p, "quest")


def build_lserve(p: LServeParams):
    """Return the LServe task graph."""
    return _build(p, "lserve")


def _layer(c: Ctx, prev, p):
    d, it, eb = c.d, c.it, c.eb
    B, R, hd = it.batch, it.rows, d.head_dim
    kv_d, kv_s = _split(p, d)
    group = d.num_heads // d.num_kv_heads
    h_d, h_s = kv_d * group, kv_s * group
    q = c.qkv(prev)
    qkv_bytes = R * (d.num_heads + 2 * d.num_kv_heads) * hd * eb
    new_pages = max(1, math.ceil(it.new_tokens / p.page_size))
    mm = c.task("page_minmax", Step.PREPARE_MEMORY, "page_minmax",
                {"batch": B * kv_d, "num_keys": it.new_tokens, "page_size": p.page_size,
                 "head_dim": hd, "elem_bytes": eb})
    wr = c.task("page_write", Step.PREPARE_MEMORY, "index_key_write",
                {"batch": B * kv_d * new_pages, "head_dim": 2 * hd, "elem_bytes": eb}, data=("page_meta",))
    c.edge(q, mm, R * kv_d * hd * eb)
    c.edge(mm, wr, B * kv_d * new_pages * 2 * hd * eb)
    outs = []
    if it.kind == "c":
        a = c.attn("attn", it.keys, heads=h_d, kv_heads=kv_d)
        c.edge(wr, a, 0)
    else:
        npg = math.ceil(it.keys / p.page_size)
        kp = min(npg, max(1, p.token_budget // p.page_size))
        # hints for the study's LServe design, which scores every key of one KV head (num_keys)
        # per key store (num_memories = sequences x dense KV heads); the work formulas ignore them
        sc = c.task("page_score", Step.COMPUTE_RELEVANCY, "page_bound_score",
                    {"batch": R * h_d, "num_pages": npg, "head_dim": hd, "elem_bytes": eb,
                     "num_keys": it.keys, "num_memories": B * kv_d}, data=("page_meta",))
        tk = c.task("topk", Step.RETRIEVAL, "topk", {"batch": R * h_d, "num_items": npg, "k": kp}, dtype="fp32")
        a = c.attn("sparse_attn", min(it.keys, kp * p.page_size), Step.APPLY_TO_INFERENCE, heads=h_d, kv_heads=kv_d)
        c.edge(q, sc, R * h_d * hd * eb)
        c.edge(wr, sc, 0)
        c.edge(sc, tk, R * h_d * npg * 4)
        c.edge(tk, a, R * h_d * kp * 4)
    c.edge(q, a, qkv_bytes)
    outs.append(a)
    if kv_s:
        s = c.attn("stream_attn", min(it.keys, p.sink_tokens + p.local_tokens + it.new_tokens - 1),
                   Step.APPLY_TO_INFERENCE, heads=h_s, kv_heads=kv_s)
        c.edge(q, s, qkv_bytes)
        outs.append(s)
    return c.ffn(c.o_proj(outs))


def estimate(p) -> int:
    """Task count without building the graph."""
    def per(d, i):
        stream = 1 if _split(p, d)[1] else 0
        return 3 + 2 + stream + (2 if p.phase == "decode" else 0) + ffn_tasks(d, i)
    return estimate_tasks(p, per)
