"""The family registry: one entry per family, added by `register` in the family's own file (timm's `register_model`).

`FAMILIES` keeps registration order (the CLI's `--family` choices, the UI dropdown, the tests); detection tries
`in_detection_order()` (most specific first), config.json detection `in_config_order()`.
"""

from __future__ import annotations

from latentgap.autoencoders.families.base import Family
from latentgap.errors import LatentgapError

FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    assert family.name not in FAMILIES, f"family {family.name!r} registered twice"
    assert family.detection_order is None or family.detection_order not in {
        f.detection_order for f in FAMILIES.values()
    }, f"{family.name}: detection order {family.detection_order} is taken"
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise LatentgapError(f"unknown autoencoder family {name!r}; known families: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def in_detection_order() -> list[Family]:
    """The families whose `recognizes` is tried on a state dict, most specific first."""
    return sorted((f for f in FAMILIES.values() if f.detection_order is not None), key=lambda f: f.detection_order)


def in_config_order() -> list[Family]:
    """Every family, for `recognizes_config`: those told apart by config values (marks) before their siblings."""
    return sorted(FAMILIES.values(), key=lambda f: -len(f.config_marks))
