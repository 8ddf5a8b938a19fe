"""Full (dense) attention: the reference every memory-processing optimization is measured against.

Every layer attends to the whole context; there is no memory to prepare, score or retrieve, so
all tasks are Model and the memory-processing fraction is 0 by construction (the one workload
for which it is). GQA models run qkv -> attention -> o_proj -> FFN; MLA models (DeepSeek) run
the absorbed MLA projections and attend to every latent KV row; MoE models run their router and
experts (as Model). gpt-oss's sliding-window layers attend to the last 128 tokens only.
"""

from __future__ import annotations

from .lm import Ctx, LMParams, attention_tasks, build_lm, estimate_tasks, ffn_tasks

DESCRIPTION = "dense attention over the whole context (reference; no memory processing), any model"


class FullAttentionParams(LMParams):
    """Parameters of :func:`build` (the shared model/phase/step/batch knobs only)."""


def _layer(c: Ctx, prev):
    return c.ffn(c.attention_block(prev))


def build(p: FullAttentionParams):
    """Return the task graph (all iterations, layers and micro-batches)."""
    return build_lm(p, "full_attention", _layer)


def per_layer_tasks(d, i: int) -> int:
    return attention_tasks(d) + ffn_tasks(d, i)


def estimate(p: FullAttentionParams) -> int:
    """Task count without building the graph."""
    return estimate_tasks(p, per_layer_tasks)
