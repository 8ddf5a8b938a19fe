"""One decode step of DeepSeek Sparse Attention (DSA) over a number of layers.

Per layer and decode step, for a batch of sequences each with ``context_len`` cached tokens:

* Prepare Memory: project the new token's index key (hidden -> 128) and append it to the
  index cache.
* Compute Relevancy: project indexer queries (64 heads x 128) and head weights, then score
  every cached key: ``score[s] = sum_h w_h * relu(q_h . k_s)`` (the lightning indexer).
* Retrieval: top-2048 of the scores.
* Apply to Inference: MLA attention over the 2048 selected latent KV rows.
* Model: the dense MLA projections (q down/up, kv down, q absorption, v up, output) and an
  optional dense FFN.

Default dimensions are DeepSeek-V3.2's: hidden 7168, 128 heads, kv_lora_rank 512, qk rope 64,
qk nope 128, indexer 64 heads x 128 dims, top-2048 (the study's ``deepseek_v32_dsa_bench.py``,
shared/reference/heterollm.md §4); q_lora_rank 1536 and v_head_dim 128 are DeepSeek-V3's
published config. The default FFN width is 0: the study benchmarked the DSA attention block.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError
from ..graph import Step, add_data, add_edge, add_task, new_graph

DESCRIPTION = ("DeepSeek Sparse Attention decode step: index-key write, lightning indexer over "
               "all cached tokens, top-k, sparse MLA attention, dense projections")


class DsaDecodeParams(BaseModel):
    """Parameters of :func:`build` (sizes in elements unless the name says otherwise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_len: int = Field(32768, ge=1, description="cached tokens per sequence")
    batch: int = Field(1, ge=1, description="sequences decoded together")
    num_layers: int = Field(61, ge=1, description="transformer layers")
    hidden_size: int = Field(7168, ge=1)
    num_heads: int = Field(128, ge=1)
    q_lora_rank: int = Field(1536, ge=1)
    kv_lora_rank: int = Field(512, ge=1)
    qk_rope_head_dim: int = Field(64, ge=0)
    qk_nope_head_dim: int = Field(128, ge=1)
    v_head_dim: int = Field(128, ge=1)
    index_num_heads: int = Field(64, ge=1)
    index_head_dim: int = Field(128, ge=1)
    index_topk: int = Field(2048, ge=1)
    ffn_intermediate_size: int = Field(0, ge=0, description="dense SwiGLU FFN width; 0 = none")
    elem_bytes: int = Field(2, ge=1, le=8, description="bytes per weight/activation element")
    index_elem_bytes: int = Field(2, ge=1, le=8, description="bytes per index-key element")
    dtype: str = Field("bf16", description="datatype for the compute peak lookup")
    micro_batches: int = Field(
        1, ge=1, description="split the batch into this many independent chains, so one "
                             "micro-batch's indexing can overlap another's dense work; each "
                             "micro-batch reads the weights again")
    decode_steps: int = Field(
        1, ge=1, description="decode steps (tokens per sequence) simulated back to back; step t "
                             "attends over context_len + t cached tokens and feeds step t + 1")
    indexer_intermediate: int = Field(
        0, ge=0, le=1, description="1 = the GPU indexer materialises [heads, keys] logits "
                                   "(plain PyTorch); 0 = fused")


def _check(p):
    if p.micro_batches > p.batch:
        raise ConfigError(f"micro_batches={p.micro_batches} exceeds batch={p.batch}",
                          field="workload.params.micro_batches")


def _gemm(m: int, k: int, n: int, eb: int) -> dict[str, int]:
    return {"m": m, "k": k, "n": n, "elem_bytes": eb}


_INDEXER = ("idx_k_proj", "idx_q_proj", "idx_w_proj")


def _gemms(p: DsaDecodeParams) -> dict[str, tuple[int, int]]:
    """(k, n) of every projection of one layer."""
    H, kv, rope, nope = p.num_heads, p.kv_lora_rank, p.qk_rope_head_dim, p.qk_nope_head_dim
    IH, ID = p.index_num_heads, p.index_head_dim
    return {
        "q_a_proj": (p.hidden_size, p.q_lora_rank),
        "q_b_proj": (p.q_lora_rank, H * (nope + rope)),
        "kv_a_proj": (p.hidden_size, kv + rope),
        "q_absorb": (H * nope, kv),
        "v_up": (H * kv, p.v_head_dim),
        "o_proj": (H * p.v_head_dim, p.hidden_size),
        "idx_k_proj": (p.hidden_size, ID),
        "idx_q_proj": (p.q_lora_rank, IH * ID),
        "idx_w_proj": (p.hidden_size, IH),
    }


def resident_data(p: DsaDecodeParams) -> dict[str, int]:
    """Resident structures and their sizes in B (used by :func:`build` and :func:`estimate`)."""
    gemms, eb, B = _gemms(p), p.elem_bytes, p.batch
    L = p.context_len + p.decode_steps - 1  # the caches hold the longest context of the run
    weight_elems = sum(k * n for name, (k, n) in gemms.items() if name not in _INDEXER)
    if p.ffn_intermediate_size:
        weight_elems += 3 * p.hidden_size * p.ffn_intermediate_size
    # the indexer's projections are separate data, so a mapping may place them apart
    return {
        "weights": weight_elems * eb * p.num_layers,
        "indexer_weights": sum(gemms[n][0] * gemms[n][1] for n in _INDEXER) * eb * p.num_layers,
        "kv_cache": B * (L + 1) * (p.kv_lora_rank + p.qk_rope_head_dim) * eb * p.num_layers,
        "index_cache": B * (L + 1) * p.index_head_dim * p.index_elem_bytes * p.num_layers,
    }


#: tasks of one layer and micro-batch (without the optional FFN)
_TASKS_PER_LAYER = 13


def estimate(p: DsaDecodeParams) -> tuple[int, dict[str, int]]:
    """(task count, resident data) of :func:`build`, without building (size guard)."""
    _check(p)
    per_layer = _TASKS_PER_LAYER + (1 if p.ffn_intermediate_size else 0)
    return p.decode_steps * p.num_layers * p.micro_batches * per_layer, resident_data(p)


def build(p: DsaDecodeParams):
    """Return the task graph of ``decode_steps`` decode steps (all layers each).

    With one step (the default) task names are ``L<layer>.<op>``; with several, step ``t``'s
    are ``S<t>.L<layer>.<op>`` and its context is ``context_len + t``.
    """
    _check(p)
    steps = p.decode_steps
    g = new_graph(f"dsa_decode(L={p.context_len}, batch={p.batch}, layers={p.num_layers}"
                  + (f", steps={steps})" if steps > 1 else ")"))
    B = p.batch
    g.graph["tokens"] = B * steps  # one new token per sequence and step
    gemms = _gemms(p)
    for name, size in resident_data(p).items():
        add_data(g, name, size)

    sizes = [B // p.micro_batches + (1 if j < B % p.micro_batches else 0)
             for j in range(p.micro_batches)]
    prevs: list[str | None] = [None] * p.micro_batches
    for t in range(steps):
        step_tag = f"S{t}." if steps > 1 else ""
        for i in range(p.num_layers):
            for j, b in enumerate(sizes):
                tag = step_tag + (f"L{i}." if p.micro_batches == 1 else f"L{i}.mb{j}.")
                prevs[j] = _layer(g, p, gemms, i, tag, b, prevs[j], p.context_len + t)
    return g


def step_params(params: dict, step: int) -> dict:
    """Parameters of decode step *step* of *params* alone (its context; one step)."""
    base = DsaDecodeParams.model_validate(params)
    return {**params, "context_len": base.context_len + step, "decode_steps": 1}


def _layer(g, p: DsaDecodeParams, gemms, i: int, tag: str, B: int, prev: str | None,
           context_len: int) -> str:
    """Add one layer for a (micro-)batch of B sequences; return its last task."""
    L, eb, ieb = context_len, p.elem_bytes, p.index_elem_bytes
    H, kv, rope, nope = p.num_heads, p.kv_lora_rank, p.qk_rope_head_dim, p.qk_nope_head_dim
    IH, ID = p.index_num_heads, p.index_head_dim
    k_sel = min(p.index_topk, L)

    def n(s: str) -> str:
        return tag + s

    for name in ("q_a_proj", "q_b_proj", "q_absorb", "v_up", "o_proj"):
        add_task(g, n(name), Step.MODEL, "gemm", _gemm(B, *gemms[name], eb),
                 dtype=p.dtype, data=("weights",), layer=i)
    add_task(g, n("kv_a_proj"), Step.MODEL, "gemm", _gemm(B, *gemms["kv_a_proj"], eb),
             dtype=p.dtype, data=("weights", "kv_cache"), layer=i)
    add_task(g, n("idx_k_proj"), Step.PREPARE_MEMORY, "gemm", _gemm(B, *gemms["idx_k_proj"], eb),
             dtype=p.dtype, data=("indexer_weights",), layer=i)
    add_task(g, n("idx_k_write"), Step.PREPARE_MEMORY, "index_key_write",
             {"batch": B, "head_dim": ID, "elem_bytes": ieb}, dtype=p.dtype,
             data=("index_cache",), layer=i)
    for name in ("idx_q_proj", "idx_w_proj"):
        add_task(g, n(name), Step.COMPUTE_RELEVANCY, "gemm", _gemm(B, *gemms[name], eb),
                 dtype=p.dtype, data=("indexer_weights",), layer=i)
    add_task(g, n("idx_score"), Step.COMPUTE_RELEVANCY, "indexer_score",
             {"batch": B, "num_keys": L + 1, "num_heads": IH, "head_dim": ID,
              "elem_bytes": ieb, "intermediate": p.indexer_intermediate},
             dtype=p.dtype, data=("index_cache",), layer=i)
    add_task(g, n("topk"), Step.RETRIEVAL, "topk",
             {"batch": B, "num_items": L + 1, "k": k_sel}, dtype="fp32", layer=i)
    add_task(g, n("sparse_attn"), Step.APPLY_TO_INFERENCE, "sparse_attention",
             {"batch": B, "num_heads": H, "num_selected": k_sel, "kv_dim": kv + rope,
              "v_dim": kv, "elem_bytes": eb}, dtype=p.dtype, data=("kv_cache",), layer=i)
    hidden = B * p.hidden_size * eb
    if prev is not None:
        for name in ("q_a_proj", "kv_a_proj", "idx_k_proj", "idx_w_proj"):
            add_edge(g, prev, n(name), hidden)
    add_edge(g, n("q_a_proj"), n("q_b_proj"), B * p.q_lora_rank * eb)
    add_edge(g, n("q_a_proj"), n("idx_q_proj"), B * p.q_lora_rank * eb)
    add_edge(g, n("q_b_proj"), n("q_absorb"), B * H * nope * eb)
    add_edge(g, n("q_b_proj"), n("sparse_attn"), B * H * rope * eb)
    add_edge(g, n("q_absorb"), n("sparse_attn"), B * H * kv * eb)
    add_edge(g, n("kv_a_proj"), n("sparse_attn"), B * (kv + rope) * eb)
    add_edge(g, n("idx_k_proj"), n("idx_k_write"), B * ID * ieb)
    add_edge(g, n("idx_k_write"), n("idx_score"), 0)
    add_edge(g, n("idx_q_proj"), n("idx_score"), B * IH * ID * ieb)
    add_edge(g, n("idx_w_proj"), n("idx_score"), B * IH * 4)
    add_edge(g, n("idx_score"), n("topk"), B * (L + 1) * 4)
    add_edge(g, n("topk"), n("sparse_attn"), B * k_sel * 4)
    add_edge(g, n("sparse_attn"), n("v_up"), B * H * kv * eb)
    add_edge(g, n("v_up"), n("o_proj"), B * H * p.v_head_dim * eb)
    prev = n("o_proj")
    if p.ffn_intermediate_size:
        add_task(g, n("ffn"), Step.MODEL, "expert_ffn",
                 {"tokens": B, "hidden": p.hidden_size,
                  "intermediate": p.ffn_intermediate_size, "num_active": 1, "elem_bytes": eb},
                 dtype=p.dtype, data=("weights",), layer=i)
        add_edge(g, prev, n("ffn"), hidden)
        prev = n("ffn")
    return prev
