"""Mixture-of-experts routing as memory processing: router, expert choice, routed experts.

Per MoE layer (``R`` token rows):

* **Prepare Memory**: the expert weights are resident (data ``expert_weights``, which a
  mapping may place in GPU or FPGA HBM); nothing runs per token.
* **Compute Relevancy**: the router GEMV, hidden x num_experts (``router``).
* **Retrieval**: top-k experts per token (``expert_topk``).
* **Apply to Inference**: the routed SwiGLU experts (``experts``: 6 x hidden x width FLOP per
  token and chosen expert; the weights of every touched expert read once, with
  E (1 - (1 - k/E)^R) experts touched by R tokens).
* **Model**: attention (dense, of the model's kind), shared experts, dense-FFN layers, LM head.

Models: DeepSeek-V3.2 (256 experts, 8 active + 1 shared, width 2048, first 3 layers dense) and
gpt-oss-120b (128 experts, 4 active, width 2880). The study ran DeepSeek-V3.2's router
(simplified to top-4 per half), and 4 parallel expert lanes per card, on the U55C with the
routed experts resident in FPGA HBM, 128 experts per card over two cards
(shared/reference/heterollm.md section 2). hetsim's U55C preset lists no expert-FFN design,
so ``hetero`` keeps the experts on the GPU (the top-k goes to the FPGA's top-k design).
"""

from __future__ import annotations

from pydantic import Field

from ..errors import ConfigError
from .lm import Ctx, LMParams, build_lm, estimate_tasks
from .models import resolve
from typing import Optional

DESCRIPTION = "MoE: router GEMV, top-k experts, routed expert FFNs (DeepSeek-V3.2, gpt-oss-120b)"


class MoeParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("deepseek-v3.2", description="model preset with a moe section")
    num_experts: Optional[int] = Field(None, ge=1, description="override the model's routed experts")
    experts_top_k: Optional[int] = Field(None, ge=1, description="override the experts per token")
    expert_intermediate: Optional[int] = Field(None, ge=1, description="override the expert width")


def build(p: MoeParams):
    """Return the task graph."""
    d = resolve(p)
    if d.moe is None:
        raise ConfigError(f"moe needs a model with routed experts; {p.model!r} has none",
                          field="workload.params.model")
    if d.moe.top_k > d.moe.num_experts:
        raise ConfigError(f"experts_top_k={d.moe.top_k} exceeds num_experts={d.moe.num_experts}",
                          field="workload.params.experts_top_k")
    return build_lm(p, "moe", lambda c, prev: c.ffn(c.attention_block(prev)), mp_ffn=True, dims=d)


def estimate(p: MoeParams) -> int:
    """Task count without building the graph."""
    from .full_attention import per_layer_tasks

    return estimate_tasks(p, per_layer_tasks)
