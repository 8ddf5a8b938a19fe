"""The pipeline's step names, in a module of their own.

Why separate from :mod:`hetsim.graph`: the timeline picture and the result tables need only
these names, and importing the graph module loads networkx (about 0.2 s), which a process
that only draws or prints must not pay.
"""

from __future__ import annotations

from enum import Enum


class Step(str, Enum):
    """Pipeline steps; the values are the strings users write."""

    PREPARE_MEMORY = "prepare_memory"
    COMPUTE_RELEVANCY = "compute_relevancy"
    RETRIEVAL = "retrieval"
    APPLY_TO_INFERENCE = "apply_to_inference"
    MODEL = "model"
    TRANSFER = "transfer"


#: Steps counted as memory processing (with the transfers they cause).
MEMORY_PROCESSING_STEPS = (Step.PREPARE_MEMORY, Step.COMPUTE_RELEVANCY, Step.RETRIEVAL)
STEP_NAMES = tuple(s.value for s in Step)
