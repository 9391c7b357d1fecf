"""The demo shop's product vocabulary: kinds, colours and patterns.

Pure Python (no Django, no numpy) so the renderer, the models and anyone training on the procedural
catalogue share one list.
"""

from __future__ import annotations

#: Product kinds (the ``Product.category`` values), with their shop labels.
KIND_LABELS: dict[str, str] = {
    "tee": "Tee",
    "shirt": "Shirt",
    "hoodie": "Hoodie",
    "dress": "Dress",
    "skirt": "Skirt",
    "trousers": "Trousers",
    "shorts": "Shorts",
    "sneaker": "Sneakers",
    "boot": "Boots",
    "handbag": "Handbag",
    "backpack": "Backpack",
    "cap": "Cap",
}
KINDS: tuple[str, ...] = tuple(KIND_LABELS)

#: Named colours (the ``Product.colour`` values) and the RGB a solid product of that colour is dyed.
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (34, 34, 37),
    "white": (240, 240, 236),
    "navy-blue": (32, 46, 88),
    "red": (186, 32, 42),
    "green": (40, 112, 62),
    "yellow": (236, 196, 48),
    "grey": (130, 132, 136),
    "pink": (236, 152, 178),
    "purple": (106, 60, 142),
    "brown": (112, 72, 44),
    "beige": (214, 196, 164),
    "orange": (232, 118, 38),
    "teal": (22, 122, 126),
    "sky-blue": (122, 172, 222),
    "burgundy": (114, 26, 44),
    "olive": (112, 112, 52),
}
COLOUR_LABELS: dict[str, str] = {key: key.replace("-", " ").title() for key in COLOURS}

#: Fabric patterns (the ``Product.pattern`` values), with their shop labels.
PATTERN_LABELS: dict[str, str] = {
    "solid": "Solid",
    "stripes": "Stripes",
    "dots": "Polka dots",
    "checks": "Checks",
}
PATTERNS: tuple[str, ...] = tuple(PATTERN_LABELS)
#: The adjective a pattern adds to a product's name ("Navy Blue Striped Tee").
PATTERN_ADJECTIVES: dict[str, str] = {"solid": "", "stripes": "Striped", "dots": "Polka Dot", "checks": "Checked"}


def normalise_colour(colour: str) -> str:
    """Return the colour key for ``colour``, accepting "Navy Blue", "navy blue" or "navy-blue"."""
    key = colour.strip().lower().replace(" ", "-").replace("_", "-")
    if key not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; expected one of {', '.join(COLOURS)}")
    return key


def product_name(kind: str, colour: str, pattern: str) -> str:
    """Shop name for a product, e.g. ``product_name("tee", "navy-blue", "stripes")`` -> "Navy Blue Striped Tee"."""
    words = [COLOUR_LABELS[normalise_colour(colour)], PATTERN_ADJECTIVES[pattern], KIND_LABELS[kind]]
    return " ".join(word for word in words if word)
