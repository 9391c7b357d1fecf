"""The test shop's side of the plugin: PRODIMG["ATTRIBUTES"] points here (and the plugin imports this module)."""
from __future__ import annotations


def attributes(picture) -> dict[str, str]:
    item = picture.item
    return {"category": item.kind, "colour": item.colour, "pattern": "solid"}
