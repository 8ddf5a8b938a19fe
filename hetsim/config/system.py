"""A system: named devices and the links between them (a topology)."""

from __future__ import annotations

from pydantic import Field, model_validator

from .device import DeviceSpec, Strict
from .link import LinkSpec


class LinkUse(Strict):
    """One physical link of a system: a link type placed between two devices."""

    name: str = Field(min_length=1, description="unique link name inside the system")
    between: tuple[str, str] = Field(description="[first, second] device names; 'forward' "
                                                 "runs first -> second")
    spec: LinkSpec


class SystemSpec(Strict):
    """Devices and links; routes between devices are found on this topology."""

    devices: tuple[DeviceSpec, ...] = Field(min_length=1)
    links: tuple[LinkUse, ...] = ()

    @model_validator(mode="after")
    def _names(self):
        names = [d.name for d in self.devices]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"device names must be unique; repeated: {dup}")
        lnames = [lk.name for lk in self.links]
        ldup = sorted({n for n in lnames if lnames.count(n) > 1})
        if ldup:
            raise ValueError(f"link names must be unique; repeated: {ldup}")
        for lk in self.links:
            for end in lk.between:
                if end not in names:
                    raise ValueError(f"link {lk.name!r} names unknown device {end!r}; "
                                     f"devices: {', '.join(names)}")
            if lk.between[0] == lk.between[1]:
                raise ValueError(f"link {lk.name!r} connects {lk.between[0]!r} to itself")
        return self

    def device(self, name: str) -> DeviceSpec:
        """Return the device called *name* (KeyError if absent)."""
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    @property
    def device_names(self) -> list[str]:
        return [d.name for d in self.devices]
