"""Attribute vocabularies: the values a conditional model knows, per attribute, as embedding indices."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNKNOWN = "<unk>"


class UnknownAttributeValue(ValueError):
    """An attribute value (or attribute) the model was not trained on."""

    def __init__(self, attribute: str, value, allowed: list[str]):
        self.attribute, self.value, self.allowed = attribute, value, allowed
        super().__init__(f"unknown {attribute} {value!r}; allowed: {', '.join(allowed)}")


@dataclass
class AttributeVocab:
    """Maps each attribute's values to indices. Index 0 of every attribute is `<unk>` (rare/unseen values)."""

    values: dict[str, list[str]] = field(default_factory=dict)  # attribute -> [UNKNOWN, v1, v2, ...]

    @classmethod
    def build(cls, labels: dict[str, list[str]], min_count: int = 1, max_values: int = 64) -> "AttributeVocab":
        """From per-attribute label lists; keep the commonest `max_values` values seen `min_count` times."""
        values = {}
        for attr, seq in labels.items():
            counts = Counter(str(v) for v in seq if v not in (None, ""))
            common = [v for v, n in counts.most_common(max_values) if n >= min_count]
            values[attr] = [UNKNOWN] + sorted(common)
        return cls(values)

    @property
    def attributes(self) -> list[str]:
        return list(self.values)

    def sizes(self) -> list[int]:
        return [len(v) for v in self.values.values()]

    def allowed(self, attribute: str) -> list[str]:
        """The real values of an attribute (without `<unk>`)."""
        return self.values[attribute][1:]

    def index(self, attribute: str, value, strict: bool = False) -> int:
        if attribute not in self.values:
            raise UnknownAttributeValue("attribute", attribute, self.attributes)
        vals = self.values[attribute]
        value = str(value)
        if value in vals and value != UNKNOWN:
            return vals.index(value)
        if strict:
            raise UnknownAttributeValue(attribute, value, vals[1:])
        return 0

    def encode(self, attrs: dict, strict: bool = False) -> list[int]:
        """One index per attribute, in vocabulary order; missing or unseen values map to `<unk>`."""
        return [self.index(a, attrs.get(a, UNKNOWN), strict) if attrs.get(a) is not None else 0 for a in self.values]

    def encode_many(self, labels: dict[str, list[str]]) -> list[list[int]]:
        n = len(next(iter(labels.values()))) if labels else 0
        return [self.encode({a: labels[a][i] for a in labels}) for i in range(n)]

    def decode(self, indices: list[int]) -> dict[str, str]:
        return {a: self.values[a][i] for a, i in zip(self.values, indices)}

    def to_dict(self) -> dict:
        # "attributes" keeps the order: checkpoint meta is dumped with sort_keys, which reorders "values"
        return {"values": self.values, "attributes": self.attributes}

    @classmethod
    def from_dict(cls, data: dict) -> "AttributeVocab":
        order = data.get("attributes") or list(data["values"])
        return cls({k: list(data["values"][k]) for k in order})


# ---- attribute roles and spelling: the one place that decides ------------------------------------------------

CATEGORY_NAMES = ("category", "articletype", "type")  # exact names preferred, in this order


def spelling_key(value) -> str:
    """A name as compared across spellings: case, spaces, hyphens and punctuation ignored
    ("Navy-Blue" == "navy blue" == "navy_blue")."""
    return "".join(ch for ch in str(value if value is not None else "").lower() if ch.isalnum())


def colour_attribute(names) -> str | None:
    """Which attribute is the colour: the first name (in the order given) that mentions colour or color
    ("colour", "color", "baseColour")."""
    return next((n for n in names if "colour" in n.lower() or "color" in n.lower()), None)


def category_attribute(names) -> str | None:
    """Which attribute is the category: one named category, articleType or type (in that order of preference),
    else the first name that mentions category or type ("productType")."""
    names = list(names)
    by_name = {n.lower(): n for n in names}
    exact = next((by_name[n] for n in CATEGORY_NAMES if n in by_name), None)
    return exact or next((n for n in names if "category" in n.lower() or "type" in n.lower()), None)


def display_name(value) -> str:
    """A value as a person reads it: "navy-blue" -> "Navy Blue", "articleType" stays "ArticleType"."""
    return str(value).replace("-", " ").replace("_", " ").title()
