"""Build the demo catalogue: a deterministic plan of products, then rows and photos from it.

``plan_catalogue(seed, count)`` is pure (no database): the same seed gives the same products, prices,
descriptions and image seeds, and so byte-identical photos. ``seed_catalogue`` stores what is missing.
"""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from .attributes import COLOUR_LABELS, COLOURS, KINDS, PATTERN_LABELS, PATTERNS, product_name
from .models import Product, ProductImage
from .render import render_product

PRICE_RANGES: dict[str, tuple[int, int]] = {
    "tee": (12, 29), "shirt": (29, 59), "hoodie": (39, 79), "dress": (45, 119), "skirt": (29, 69),
    "trousers": (39, 89), "shorts": (22, 45), "sneaker": (49, 129), "boot": (79, 189), "handbag": (59, 249),
    "backpack": (35, 99), "cap": (15, 32),
}
BLURBS: dict[str, list[str]] = {
    "tee": ["A soft cotton jersey tee with a ribbed crew neck.", "Our everyday tee, cut for a relaxed fit."],
    "shirt": ["A crisp long-sleeved shirt with a classic collar.", "Brushed cotton shirt with a curved hem."],
    "hoodie": ["A heavyweight brushed-back hoodie with a kangaroo pocket.", "Cosy pull-over hoodie, drawstring hood."],
    "dress": ["A fit-and-flare dress that moves with you.", "Sleeveless scoop-neck dress with a full skirt."],
    "skirt": ["An A-line midi skirt with a button waistband.", "A swishy skirt with soft pleats."],
    "trousers": ["Straight-leg trousers with pressed creases.", "Tailored trousers in a comfortable stretch twill."],
    "shorts": ["Chino shorts cut just above the knee.", "Easy cotton shorts for warm days."],
    "sneaker": ["Low-top sneakers on a cushioned cupsole.", "Everyday lace-up sneakers with a padded collar."],
    "boot": ["Chelsea boots with elastic gussets and a stacked heel.", "Pull-on ankle boots with a grippy sole."],
    "handbag": ["A structured top-handle bag with a gold-tone clasp.", "Compact handbag with a magnetic flap."],
    "backpack": ["A roomy zip-top backpack with a front pocket.", "Everyday backpack that fits a 15-inch laptop."],
    "cap": ["A six-panel baseball cap with an adjustable strap.", "Classic cotton cap with a curved brim."],
}
CARE = ["Machine wash at 30°C.", "Wipe clean with a damp cloth.", "Responsibly made.", "Free returns within 30 days."]


@dataclass(frozen=True)
class ProductPlan:
    """One product of the demo catalogue, before it is stored."""

    kind: str
    colour: str
    pattern: str
    name: str
    slug: str
    price: Decimal
    description: str
    image_seeds: tuple[int, ...] = field(default=())


def plan_catalogue(seed: int = 0, count: int = 160) -> list[ProductPlan]:
    """The products ``seed_demo`` creates: every kind, colour and pattern appears once ``count`` >= 16."""
    rng = random.Random(f"catalogue:{seed}")
    triples = list(itertools.product(KINDS, COLOURS, PATTERNS))
    # shops sell mostly plain things: solids sort earlier, so they win ties once everything is covered
    order = sorted(triples, key=lambda t: rng.random() * (0.45 if t[2] == "solid" else 1.0))
    chosen = _covering(order, count)
    return [_plan_one(rng, kind, colour, pattern, i, len(order)) for i, (kind, colour, pattern) in enumerate(chosen)]


def _covering(order: list[tuple[str, str, str]], count: int) -> list[tuple[str, str, str]]:
    """Pick ``count`` triples, each time the first one that adds the most unseen kinds/colours/patterns."""
    seen: set[str] = set()
    remaining, chosen = list(order), []
    while len(chosen) < count:
        if not remaining:
            remaining = list(order)  # more products than combinations: repeat them (slugs get a suffix)
        best = max(range(len(remaining)), key=lambda i: (len(set(remaining[i]) - seen), -i))
        triple = remaining.pop(best)
        seen.update(triple)
        chosen.append(triple)
    return chosen


def _plan_one(rng: random.Random, kind: str, colour: str, pattern: str, index: int, combos: int) -> ProductPlan:
    name = product_name(kind, colour, pattern)
    repeat = index // combos
    lo, hi = PRICE_RANGES[kind]
    price = Decimal(f"{rng.randint(lo, hi)}.{rng.choice(['99', '99', '50', '00', '95'])}")
    style = "" if pattern == "solid" else f" in a {PATTERN_LABELS[pattern].lower()} print"
    description = (
        f"{rng.choice(BLURBS[kind])} Shown in {COLOUR_LABELS[colour].lower()}{style}.\n{rng.choice(CARE)}"
    )
    seeds = [rng.randrange(1_000_000)]
    if rng.random() < 0.3:  # some products have a second photo from another angle
        seeds.append(rng.randrange(1_000_000))
    slug = slugify(name) + (f"-{repeat + 1}" if repeat else "")
    return ProductPlan(kind, colour, pattern, name, slug, price, description, tuple(seeds))


def photo_bytes(plan: ProductPlan, image_seed: int, size: tuple[int, int] = (240, 320)) -> bytes:
    """The JPEG bytes of one of the product's photos (deterministic)."""
    buffer = io.BytesIO()
    render_product(plan.kind, plan.colour, plan.pattern, image_seed, size).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def store_product(plan: ProductPlan) -> Product:
    """Create the product and its photos (through Django's storage API) in one transaction."""
    with transaction.atomic():
        product = Product.objects.create(
            name=plan.name, slug=plan.slug, category=plan.kind, colour=plan.colour, pattern=plan.pattern,
            price=plan.price, description=plan.description,
        )
        for position, image_seed in enumerate(plan.image_seeds):
            image = ProductImage(product=product, position=position, alt_text=f"{plan.name}, view {position + 1}")
            image.image.save(f"{plan.slug}-{position + 1}.jpg", ContentFile(photo_bytes(plan, image_seed)))
    return product


def seed_catalogue(
    plans: list[ProductPlan], progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Store every planned product whose slug is not taken yet; returns (created, skipped)."""
    existing = set(Product.objects.filter(slug__in=[p.slug for p in plans]).values_list("slug", flat=True))
    created = 0
    for i, plan in enumerate(plans, 1):
        if plan.slug not in existing:
            store_product(plan)
            created += 1
        if progress:
            progress(i, len(plans))
    return created, len(plans) - created


def flush_catalogue() -> int:
    """Delete every product, its photos and their files; returns how many products were deleted."""
    names = list(ProductImage.objects.values_list("image", flat=True))
    count = Product.objects.count()
    Product.objects.all().delete()  # rows first: deleting may load photos, which must still exist
    storage = ProductImage._meta.get_field("image").storage
    for name in names:
        if name:
            storage.delete(name)
    return count
