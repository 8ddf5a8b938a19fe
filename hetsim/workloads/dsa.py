"""DeepSeek Sparse Attention (DSA) on any model, prefill or multi-step decode.

Per layer and iteration (``R`` = sequences x new tokens, ``L`` = keys so far):

* **Prepare Memory**: project each new token's index key (hidden -> 128) and append it to
  the index cache (``idx_k_proj``, ``idx_k_write``) -- in prefill, for every prompt token as
  the chunk is read.
* **Compute Relevancy**: indexer queries (64 heads x 128) and head weights
  (``idx_q_proj``, ``idx_w_proj``), then the lightning indexer
  ``score[s] = sum_h w_h relu(q_h . k_s)`` over all ``L`` cached keys (``idx_score``: reads
  L x 128 index elements and does L x 64 x 128 MAC per query token).
* **Retrieval**: top-2048 of the L scores (``topk``).
* **Apply to Inference**: attention over the 2048 selected KV rows (``sparse_attn``:
  absorbed MLA on DeepSeek, GQA attention on other models).
* **Model**: the dense projections, the LM head and -- with ``ffn: model`` (default) -- the
  model's FFN: DeepSeek-V3.2's 3 dense layers and 58 MoE layers (256 routed experts, 8 active,
  1 shared). ``ffn: none`` omits the FFN, as the study's DSA benchmark and ``dsa_decode`` do.

Algorithm: DeepSeek-V3.2-Exp (config ``index_n_heads`` 64, ``index_head_dim`` 128,
``index_topk`` 2048). The study ran the indexer + top-2048 fused on the U55C (int16 keys in
FPGA HBM) and the gather + attention on the MI210 (shared/reference/heterollm.md section 3.1).
In prefill each query scans the index cache on its own (no key reuse across a chunk's
queries): an upper bound on the indexer's bytes.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import Field

from ..graph import Step, add_data
from .knobs import Rule, only_with
from .lm import Ctx, LMParams, attention_tasks, build_lm, estimate_tasks, ffn_tasks, final_context
from .models import Dsa, resolve

DESCRIPTION = ("DeepSeek Sparse Attention, any model and phase: index-key write, lightning indexer "
               "over all cached tokens, top-k, sparse attention, optional MoE FFN")


class DsaParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("deepseek-v3.2", description="model preset")
    ffn: Literal["model", "none"] = Field("model", description="the model's FFN (MoE on DeepSeek) or none")
    index_num_heads: Optional[int] = Field(None, ge=1, description="default: the model's (64)")
    index_head_dim: Optional[int] = Field(None, ge=1, description="default: the model's (128)")
    index_topk: Optional[int] = Field(None, ge=1, description="default: the model's (2048)")
    index_elem_bytes: int = Field(2, ge=1, le=8, description="bytes per index-key element (int16 on the FPGA)")
    indexer_intermediate: int = Field(0, ge=0, le=1, description="1 = GPU indexer writes [heads, keys] logits")

    applies_when: ClassVar[dict[str, Rule]] = {
        **LMParams.applies_when,
        "intermediate_size": only_with("ffn", "model"),
    }


def indexer(p: DsaParams) -> Dsa:
    base = resolve(p).dsa or Dsa(64, 128, 2048)  # non-DeepSeek models: DeepSeek-V3.2's indexer
    return Dsa(p.index_num_heads or base.index_num_heads, p.index_head_dim or base.index_head_dim,
               p.index_topk or base.index_topk)


def build(p: DsaParams):
    """Return the task graph."""
    ix = indexer(p)

    def data(g, p, d):
        q_in = d.mla.q_lora_rank if d.attention == "mla" else d.hidden_size
        w = d.hidden_size * ix.index_head_dim + q_in * ix.index_num_heads * ix.index_head_dim \
            + d.hidden_size * ix.index_num_heads
        add_data(g, "indexer_weights", w * p.elem_bytes * d.num_layers)
        add_data(g, "index_cache", p.batch * final_context(p) * ix.index_head_dim * p.index_elem_bytes * d.num_layers)

    return build_lm(p, "dsa", lambda c, prev: _layer(c, prev, p, ix), data=data, ffn=p.ffn == "model")


def _layer(c: Ctx, prev, p: DsaParams, ix: Dsa):
    d, it, eb, ieb = c.d, c.it, c.eb, p.index_elem_bytes
    R, L = it.rows, it.keys
    IH, ID = ix.index_num_heads, ix.index_head_dim
    k_sel = min(ix.index_topk, L)
    if d.attention == "mla":
        front = c.mla_front(prev)
        q_src, q_in = front["q_a"], d.mla.q_lora_rank
    else:
        q = c.qkv(prev)
        q_src, q_in = prev, d.hidden_size
    kp = c.gemm("idx_k_proj", d.hidden_size, ID, Step.PREPARE_MEMORY, data=("indexer_weights",))
    kw = c.task("idx_k_write", Step.PREPARE_MEMORY, "index_key_write",
                {"batch": R, "head_dim": ID, "elem_bytes": ieb}, data=("index_cache",))
    qp = c.gemm("idx_q_proj", q_in, IH * ID, Step.COMPUTE_RELEVANCY, data=("indexer_weights",))
    wp = c.gemm("idx_w_proj", d.hidden_size, IH, Step.COMPUTE_RELEVANCY, data=("indexer_weights",))
    sc = c.task("idx_score", Step.COMPUTE_RELEVANCY, "indexer_score",
                {"batch": R, "num_keys": L, "num_heads": IH, "head_dim": ID, "elem_bytes": ieb,
                 "intermediate": p.indexer_intermediate}, data=("index_cache",))
    tk = c.task("topk", Step.RETRIEVAL, "topk", {"batch": R, "num_items": L, "k": k_sel}, dtype="fp32")
    if prev is not None:
        for t in (kp, wp):
            c.edge(prev, t, c.hidden_bytes)
    if q_src is not None and (d.attention == "mla" or prev is not None):
        c.edge(q_src, qp, R * q_in * eb)
    c.edge(kp, kw, R * ID * ieb)
    c.edge(kw, sc, 0)
    c.edge(qp, sc, R * IH * ID * ieb)
    c.edge(wp, sc, R * IH * 4)
    c.edge(sc, tk, R * L * 4)
    if d.attention == "mla":
        a = c.mla_attn("sparse_attn", front, k_sel, Step.APPLY_TO_INFERENCE)
        c.edge(tk, a, R * k_sel * 4)
        out = c.mla_back(a)
    else:
        a = c.attn("sparse_attn", k_sel, Step.APPLY_TO_INFERENCE)
        c.edge(q, a, R * (d.num_heads + 2 * d.num_kv_heads) * d.head_dim * eb)
        c.edge(tk, a, R * k_sel * 4)
        out = c.o_proj([a])
    return c.ffn(out) if p.ffn == "model" else out


def estimate(p: DsaParams) -> int:
    """Task count without building the graph."""
    return estimate_tasks(p, lambda d, i: attention_tasks(d) + 6 + (ffn_tasks(d, i) if p.ffn == "model" else 0))
