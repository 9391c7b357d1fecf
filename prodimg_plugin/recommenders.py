"""Recommenders pick, per shopper, which approved image of a product to show.

A recommender is a class with `rank(context, product, candidates) -> list[Ranked]` and `update(events)`;
PRODIMG["RECOMMENDER"] names the one in use.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Ranked:
    candidate: object  # a host image or an approved GeneratedImage
    propensity: float  # probability that this policy shows this candidate first


class OriginalImageRecommender:
    """Always the original photo: the baseline every personalised recommender is compared with."""

    name = "original"

    def rank(self, context, product, candidates: list) -> list[Ranked]:
        if not candidates:
            return []
        return [Ranked(candidates[0], 1.0)] + [Ranked(c, 0.0) for c in candidates[1:]]

    def update(self, events) -> None:
        """Nothing to learn."""
