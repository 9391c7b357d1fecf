"""What a recommender is given and returns: the candidate images of a product, the shopper a choice is made for,
a ranked answer, and the outcome of a decision; and the keys that name a candidate image ("s12", "g5"; an original
photo's key carries the host's id as it is, whatever its type: "s6f1c1d2e-7a3b-...", "sSKU-12").

Recommenders import these from `prodimg_plugin.storefront.recommenders`, which re-exports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable


@dataclass
class Candidate:
    """One image a shopper may be shown for a product: an original photo or an approved generated image."""

    key: str  # "s<id>" for the host's product image, "g<id>" for a GeneratedImage
    source_id: Any  # the host image's id, of its primary key's type (for a generated image: the photo it was made from)
    generated_id: int | None
    kind: str  # "original", or the GeneratedImage kind: "variant", "edit", "enhanced"
    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # {"colour": "navy-blue", ...}

    @property
    def is_original(self) -> bool:
        return self.generated_id is None


class ShopperContext:
    """Who a choice is made for (a user, or for anonymous shoppers a session; never the IP) and what they did.

    `history` is (candidate key, clicked) per recent decision, oldest first; `liked` the attributes of the images
    they clicked lately ({"colour": "navy-blue", "kind": "variant"}, oldest first), as their impressions logged them.
    The storefront reads both from the database only when a recommender first asks (a page of cached choices
    needs neither)."""

    def __init__(self, user_id: int | None = None, session_key: str = "",
                 history: list[tuple[str, bool]] | None = None, at: datetime | None = None, click_version: int = 0,
                 opted_out: bool = False, loader: Callable[[], list[tuple[str, bool]]] | None = None,
                 features: dict[str, str] | None = None, liked: list[dict[str, str]] | None = None,
                 liked_loader: Callable[[], list[dict[str, str]]] | None = None):
        self.user_id, self.session_key, self.at = user_id, session_key, at
        self.features = features or {}  # coarse context (device, page, campaign, ...): PRODIMG["SHOPPER_CONTEXT"]
        self.click_version = click_version  # changes whenever the shopper clicks: cached choices are made again
        self.opted_out = opted_out
        self.memo: dict = {}  # per-shopper computations a recommender may keep (e.g. a context vector)
        self._history, self._loader = history, loader
        self._liked, self._liked_loader = liked, liked_loader

    @property
    def key(self) -> str:
        return f"u{self.user_id}" if self.user_id else f"s{self.session_key}"

    @property
    def history(self) -> list[tuple[str, bool]]:
        if self._history is None:
            self._history = self._loader() if self._loader else []
        return self._history

    @property
    def liked(self) -> list[dict[str, str]]:
        if self._liked is None:
            self._liked = self._liked_loader() if self._liked_loader else []
        return self._liked

    def __repr__(self) -> str:
        return f"ShopperContext({self.key[:9]}..., at={self.at})"


@dataclass
class Ranked:
    candidate: Candidate
    propensity: float  # probability that this policy shows this candidate first


@dataclass
class Feedback:
    """One decision's outcome, handed to `update`: what a shopper was shown and whether they clicked."""

    shopper: ShopperContext  # as the shopper was when the image was chosen
    product_id: str
    shown: str  # the candidate key shown
    clicked: bool  # a click, add-to-cart or purchase came from this decision
    propensity: float | None = None
    candidates: list[str] = field(default_factory=list)
    reward: float | None = None  # graded: the REWARD_WEIGHTS of the outcomes within the attribution window
    position: int | None = None  # where on the page the image was shown
    attributes: dict = field(default_factory=dict)  # the shown image's attributes and kind when it was chosen


def source_key(source_id) -> str:
    return f"s{source_id}"


def generated_key(generated_id) -> str:
    return f"g{generated_id}"


def parse_key(key: str) -> tuple[str, Any]:
    """("s", the host image's id as the key writes it) or ("g", the generated image's int id) of a candidate key;
    ValueError for anything else. The host's id stays a string ("12", "6f1c1d2e-7a3b-...", "SKU-12"): a query on the
    host's key field takes it as it is."""
    if not isinstance(key, str) or len(key) < 2 or key[0] not in "sg" or (key[0] == "g" and not key[1:].isdigit()):
        raise ValueError(f"not a candidate key: {key!r}")
    return key[0], int(key[1:]) if key[0] == "g" else key[1:]
