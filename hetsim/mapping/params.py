"""What each built-in mapping policy accepts in ``mapping.params``, as strict pydantic models.

Why: a policy reads its params with ``params.get(...)``, so a misspelt key (``fgpa: f1``)
would silently fall back to the default. Validating against these models first rejects
unknown keys and wrong types with the field named. A plug-in policy may declare its own
model as the attribute ``params_model`` of the policy function.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuOnlyParams(_Params):
    gpu: StrictStr | None = Field(None, description="GPU device name (default: the first GPU)")


class SingleParams(_Params):
    device: StrictStr | None = Field(None, description="device name (default: the first device)")


class SplitParams(_Params):
    gpu: StrictStr | None = Field(None, description="GPU device name (default: the first GPU)")
    fpga: StrictStr | None = Field(None, description="FPGA device name (default: the first FPGA)")


class HeftParams(_Params):
    devices: tuple[StrictStr, ...] | None = Field(None, description="devices HEFT may use (default: all)")


class OptimalParams(_Params):
    objective: Literal["latency", "energy", "edp"] = "latency"
    granularity: Literal["auto", "task", "group"] = "auto"
    exhaustive_limit: StrictInt = Field(512, ge=1)
    max_evaluations: StrictInt = Field(2000, ge=1)


BUILTIN_PARAMS: dict[str, type[BaseModel]] = {
    "gpu-only": GpuOnlyParams,
    "single": SingleParams,
    "hetero": SplitParams,
    "fpga-max": SplitParams,
    "heft": HeftParams,
    "optimal": OptimalParams,
}
