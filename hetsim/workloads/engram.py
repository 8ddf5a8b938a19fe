"""Engram: hashed n-gram embedding tables looked up per token and added, gated, to the hidden state.

In each Engram layer, per token row:

* **Prepare Memory**: the tables (``num_heads`` hashed tables of ``table_rows`` rows of
  ``row_elems``) are built offline and resident (data ``engram_tables``: GPU HBM, or FPGA HBM
  under ``hetero``); nothing runs per token.
* **Compute Relevancy + Retrieval** (``engram_lookup``, one kernel as in the study's FPGA
  design): hash the token's 2-gram and 3-gram ids into one row per head and gather those
  ``num_heads`` random rows.
* **Apply to Inference**: project the concatenated rows to key and value (``engram_proj``) and
  add the gated value to the hidden state (``engram_gate``: RMSNorm gate, short causal
  convolution, residual).
* **Model**: the backbone's attention and FFN (any model preset).

Algorithm: DeepSeek's Engram ("Conditional Memory via Scalable Lookup", 2026). The study's
U55C design hashes 2- and 3-grams (8 heads each, 16 lookups of 64-element rows = 1024) and
projects 1024 -> 5120 on the FPGA; the gate, short convolution (kernel 4, dilation 3) and
residual ran on the GPU (shared/reference/heterollm.md section 2). Layers 1 and 15 carry
Engram by default [E] (clipped to the model's depth); table rows per head are an [E] size.
Context does not enter the lookup, so its share of a decode step shrinks as attention grows.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ..graph import Step, add_data
from .lm import Ctx, LMParams, build_lm, estimate_tasks, final_context
from .models import resolve

DESCRIPTION = "Engram: hashed n-gram table rows gathered per token (GPU or FPGA HBM), gated add"


class EngramParams(LMParams):
    """Parameters of :func:`build`."""

    engram_layers: tuple[Annotated[int, Field(ge=0)], ...] = Field(
        (1, 15), min_length=1, description="layers with an Engram module [E] (past the model's depth: dropped; "
                                "if all are, the last layer)")
    num_heads: int = Field(16, ge=1, le=16, description="hashed lookups per token (2- and 3-grams x 8)")
    row_elems: int = Field(64, ge=1, le=256, description="elements per table row")
    table_rows: int = Field(4_194_304, ge=1, description="rows per head's table [E]")
    max_ngram: int = Field(3, ge=2, description="longest n-gram hashed")

    @model_validator(mode="after")
    def _ngram_within_context(self):
        if len(set(self.engram_layers)) < len(self.engram_layers):
            seen: set[int] = set()
            twice = sorted({i for i in self.engram_layers if i in seen or seen.add(i)})
            raise ValueError(f"engram_layers lists layer(s) {twice} more than once; one Engram module per layer")
        # an n-gram is hashed from tokens the model has read; a longer one has none to hash
        # (``max_ngram: 1e20`` was accepted and sized the token-id edges at 4e20 B)
        if self.max_ngram > final_context(self):
            raise ValueError(f"max_ngram = {self.max_ngram:,}: an n-gram cannot be longer than the "
                             f"{final_context(self):,} tokens the model reads (context_len + decode steps); "
                             "the study's Engram hashes 2- and 3-grams")
        return self


def _layers(p, d) -> set[int]:
    ls = {i for i in p.engram_layers if i < d.num_layers}
    return ls or {min(p.engram_layers[0] if p.engram_layers else 0, d.num_layers - 1)}


def build(p: EngramParams):
    """Return the task graph."""
    d = resolve(p)
    layers = _layers(p, d)

    def data(g, p, d):
        add_data(g, "engram_tables", len(layers) * p.num_heads * p.table_rows * p.row_elems * p.elem_bytes)

    return build_lm(p, "engram", lambda c, prev: _layer(c, prev, p, layers), data=data, dims=d)


def _layer(c: Ctx, prev, p: EngramParams, layers: set[int]):
    if c.layer in layers:
        R, eb, H = c.it.rows, c.eb, c.d.hidden_size
        lk = c.task("engram_lookup", Step.RETRIEVAL, "engram_gather",
                    {"num_tokens": R, "num_heads": p.num_heads, "row_elems": p.row_elems, "elem_bytes": eb},
                    data=("engram_tables",))
        pj = c.gemm("engram_proj", p.num_heads * p.row_elems, 2 * H, Step.APPLY_TO_INFERENCE)
        gt = c.task("engram_gate", Step.APPLY_TO_INFERENCE, "elementwise", {"num_elems": 4 * R * H, "elem_bytes": eb})
        if prev is not None:
            c.edge(prev, lk, R * p.max_ngram * 4)  # the token ids of each n-gram
            c.edge(prev, gt, c.hidden_bytes)
        c.edge(lk, pj, R * p.num_heads * p.row_elems * eb)
        c.edge(pj, gt, 2 * R * H * eb)
        prev = gt
    return c.ffn(c.attention_block(prev))


def estimate(p: EngramParams) -> int:
    """Task count without building the graph."""
    from .full_attention import per_layer_tasks

    layers = _layers(p, resolve(p))
    return estimate_tasks(p, lambda d, i: per_layer_tasks(d, i) + 3 * (i in layers))
