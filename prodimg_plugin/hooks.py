"""A registry of extension functions ("hooks"), in the manner of wagtail's hooks.

    from prodimg_plugin import hooks

    @hooks.register(hooks.FILTER_CANDIDATES)
    def no_sale_items_in_variants(shopper, product, candidates):
        return [c for c in candidates if c.is_original or not product.on_sale]

Each installed app may keep its hooks in a `prodimg_hooks` module; prodimg imports those modules once, when
the app registry is ready (and again on first use, should that come earlier). Tests swap hooks in and out with
`register_temporarily`.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from django.utils.module_loading import autodiscover_modules

# (shopper: ShopperContext, product, candidates: list[Candidate]) -> list[Candidate]
# Narrow the images a shopper may be shown for a product. A filter can only remove candidates: anything it adds
# is ignored, so no hook can put an unapproved image in front of a shopper.
FILTER_CANDIDATES = "filter_candidates"
# (shopper: ShopperContext, product, candidates: list[Candidate]) -> list[float]
# One non-negative weight per candidate; the recommender's propensities are multiplied by the weights of every
# scorer and renormalised before the image is drawn (and the resulting propensities are the ones logged).
SCORE_CANDIDATES = "score_candidates"

MODULE_NAME = "prodimg_hooks"

_hooks: dict[str, list[tuple[Callable, int]]] = {}
_searched = False


def register(name: str, fn: Callable | None = None, order: int = 0):
    """Register `fn` under `name`; without `fn`, return a decorator. Lower `order` runs first."""
    if fn is None:
        def decorator(fn: Callable) -> Callable:
            register(name, fn, order=order)
            return fn
        return decorator
    _hooks.setdefault(name, []).append((fn, order))
    return fn


def unregister(name: str, fn: Callable) -> None:
    """Remove one registration of `fn` under `name` (no error when it is not there)."""
    entries = _hooks.get(name, [])
    for i, (registered, _) in enumerate(entries):
        if registered is fn:
            del entries[i]
            return


@contextmanager
def register_temporarily(name: str | dict[str, Callable], fn: Callable | None = None, *,
                         order: int = 0) -> Iterator[None]:
    """Register hooks for the duration of a `with` block (tests): one `name, fn` or a dict {name: fn}."""
    pairs = list(name.items()) if isinstance(name, dict) else [(name, fn)]
    for hook_name, hook in pairs:
        register(hook_name, hook, order=order)
    try:
        yield
    finally:
        for hook_name, hook in pairs:
            unregister(hook_name, hook)


def autodiscover() -> None:
    """Import each installed app's `prodimg_hooks` module (once per process)."""
    global _searched
    if not _searched:
        _searched = True
        autodiscover_modules(MODULE_NAME)


def get_hooks(name: str) -> list[Callable]:
    """The functions registered under `name`, by `order` (then registration order)."""
    autodiscover()
    return [fn for fn, _ in sorted(_hooks.get(name, []), key=lambda entry: entry[1])]
