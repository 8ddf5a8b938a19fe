"""What each built-in mapping policy accepts in ``mapping.params``, as strict pydantic models.

Why: a policy reads its params with ``params.get(...)``, so a misspelt key (``fgpa: f1``)
would silently fall back to the default. Validating against these models first rejects
unknown keys and wrong types with the field named. A plug-in policy may declare its own
model as the attribute ``params_model`` of the policy function.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ..limits import MAX_SEARCH_EVALUATIONS


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the devices the policy places work on: param name -> device kind it must name (None:
    #: any kind); when the param is unset, the first device of that kind must exist. Read by
    #: :func:`hetsim.mapping.registry.check_devices` to refuse, before any run, a policy that
    #: cannot be placed on a system (``hetero`` on a system without an FPGA).
    placed_on: ClassVar[dict[str, str | None]] = {}


class GpuOnlyParams(_Params):
    placed_on: ClassVar[dict[str, str | None]] = {"gpu": "gpu"}
    gpu: StrictStr | None = Field(None, description="GPU device name (default: the first GPU)")


class SingleParams(_Params):
    placed_on: ClassVar[dict[str, str | None]] = {"device": None}
    device: StrictStr | None = Field(None, description="device name (default: the first device)")


class SplitParams(_Params):
    placed_on: ClassVar[dict[str, str | None]] = {"gpu": "gpu", "fpga": "fpga"}
    gpu: StrictStr | None = Field(None, description="GPU device name (default: the first GPU)")
    fpga: StrictStr | None = Field(None, description="FPGA device name (default: the first FPGA)")


class HeftParams(_Params):
    placed_on: ClassVar[dict[str, str | None]] = {"devices": None}
    devices: tuple[StrictStr, ...] | None = Field(None, description="devices HEFT may use (default: all)")


class OptimalParams(_Params):
    objective: Literal["latency", "energy", "edp"] = "latency"
    granularity: Literal["auto", "task", "group"] = "auto"
    exhaustive_limit: StrictInt = Field(512, ge=1, le=MAX_SEARCH_EVALUATIONS)
    max_evaluations: StrictInt = Field(2000, ge=1, le=MAX_SEARCH_EVALUATIONS)


BUILTIN_PARAMS: dict[str, type[BaseModel]] = {
    "gpu-only": GpuOnlyParams,
    "single": SingleParams,
    "hetero": SplitParams,
    "fpga-max": SplitParams,
    "heft": HeftParams,
    "optimal": OptimalParams,
}
