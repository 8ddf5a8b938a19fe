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
(shared/reference/heterollm.md section 2).

Placement: ``expert_shards: N`` splits the routed experts evenly into N resident data items
(``expert_weights.0`` ...) and the expert FFN of each MoE layer into N tasks (``experts.i``,
each token routed to top_k/N experts of every shard, as the study's top-4-per-half router; an
``experts_sum`` adds the partial outputs). ``expert_placement: fpga`` asks the mapping to put
the shards in FPGA HBM: ``hetero`` places them round-robin over the system's FPGAs, which must
list a design for ``moe_experts`` (e.g. ``study_moe``; scenarios/moe-2fpga.yaml). With the
default ``gpu`` ``hetero`` keeps the experts on the GPU (the U55C preset lists no expert
design; its top-k design takes the expert choice).
"""

from __future__ import annotations

from pydantic import Field

from ..errors import ConfigError
from .lm import Ctx, LMParams, build_lm, estimate_tasks
from .models import resolve
from typing import Literal, Optional

DESCRIPTION = "MoE: router GEMV, top-k experts, routed expert FFNs (DeepSeek-V3.2, gpt-oss-120b)"


class MoeParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("deepseek-v3.2", description="model preset with a moe section")
    num_experts: Optional[int] = Field(None, ge=1, description="override the model's routed experts")
    experts_top_k: Optional[int] = Field(None, ge=1, description="override the experts per token")
    expert_intermediate: Optional[int] = Field(None, ge=1, description="override the expert width")
    expert_placement: Literal["gpu", "fpga"] = Field(
        "gpu", description="where a hetero mapping keeps the routed experts' weights (fpga: round-robin "
                           "over the system's FPGAs, one shard per card in turn)")
    expert_shards: int = Field(1, ge=1, le=64, description="resident shards the routed experts are split "
                                                           "into evenly (one expert-FFN task per shard)")


def build(p: MoeParams):
    """Return the task graph."""
    d = resolve(p)
    if d.moe is None:
        raise ConfigError(f"moe needs a model with routed experts; {p.model!r} has none",
                          field="workload.params.model")
    if d.moe.top_k > d.moe.num_experts:
        raise ConfigError(f"experts_top_k={d.moe.top_k} exceeds num_experts={d.moe.num_experts}",
                          field="workload.params.experts_top_k")
    n = p.expert_shards
    for total, what, field in ((d.moe.num_experts, "num_experts", "expert_shards"),
                               (d.moe.top_k, "experts_top_k", "expert_shards")):
        if total % n:
            raise ConfigError(f"expert_shards={n} must divide {what}={total} (experts are split evenly)",
                              field=f"workload.params.{field}")
    g = build_lm(p, "moe", lambda c, prev: c.ffn(c.attention_block(prev)), mp_ffn=True, dims=d)
    if p.expert_placement == "fpga":
        # read by mappings that honour placement hints (hetero): data items to keep on FPGAs
        g.graph["fpga_resident"] = ["expert_weights"] if n == 1 else [f"expert_weights.{i}" for i in range(n)]
    return g


def estimate(p: MoeParams) -> int:
    """Task count without building the graph."""
    from .full_attention import per_layer_tasks

    n = p.expert_shards
    extra = n if n > 1 else 0  # N shard tasks + their sum replace the single experts task
    return estimate_tasks(p, lambda d, i: per_layer_tasks(d, i) + (extra if d.is_moe_layer(i) else 0))
