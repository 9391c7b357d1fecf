"""prodimg's settings: one namespaced dict, `PRODIMG`, read lazily.

    from prodimg_plugin.conf import prodimg_settings
    prodimg_settings.IMAGE_MODEL

Values are looked up on first use and forgotten when Django's `setting_changed` fires, so
`override_settings(PRODIMG={...})` works in tests. Dotted paths listed in IMPORT_STRINGS are imported on use.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

# Starter models shipped with the plugin, made by its own commands on the demo shop's procedural drawings (see its
# README.md): enough to try every feature, not trained on a real shop's photos.
BUNDLED_STARTER_MODELS = Path(__file__).resolve().parent / "bundled"

DEFAULTS = {
    # binding to the host shop
    "IMAGE_MODEL": None,  # "app_label.ModelName" of the host's product-image model (required)
    "IMAGE_FIELD": "image",  # its ImageField
    "PRODUCT_FIELD": "product",  # FK from the image to the product
    "ATTRIBUTES": None,  # dotted path of callable(image) -> {"category": ..., "colour": ...} (required)
    "EXTEND_ADMIN": True,  # add prodimg's actions and panels to the host's registered admins
    # models
    "DEVICE": "auto",  # "auto" (GPU when present), "cpu" or "cuda"
    "BUNDLED_WEIGHTS_DIR": None,  # folder of weights (<kind>.safetensors) registered when a kind has none active;
    # None: nothing is registered behind the operator's back (`prodimg_setup --bundled` installs the starters)
    "WEIGHTS_UPLOAD_TO": "prodimg/models/",
    "TORCH_THREADS": None,  # threads per worker process; None lets torch decide
    "GARMENT_LAYOUT": None,  # JSON file of where each category's product sits on a model (`ml.garment`, made by
    # bench/learn_garment_layout.py); None: the bundled one, learned from a fashion catalogue; "": none (every
    # garment of the chosen colour changes on worn photos)
    # generation
    "VARIANTS_DEFAULT_COUNT": 4,
    "VARIANTS_MAX_COUNT": 12,
    "VARIANT_MODES": ["colourways", "design"],
    "GENERATED_UPLOAD_TO": "prodimg/generated/",
    "PRIVATE_STORAGE": None,  # STORAGES alias for unpublished (pending, rejected) files; None: <MEDIA_ROOT>-prodimg-private
    # beside MEDIA_ROOT, not served; approved files are copied to STORAGES["default"] (prodimg_plugin.storage)
    "OUTPUT_FORMAT": "PNG",
    # quality and enhancement
    "ENHANCE": {},  # overrides of ml.enhance.EnhanceConfig, e.g. {"white_backdrop": False, "target_size": [600, 800],
    # "rendition_sizes": [[600, 800]], "rendition_formats": ["webp", "jpeg"]}; "super_resolution": False keeps bicubic
    "RENDITIONS_UPLOAD_TO": "prodimg/renditions/",
    "ON_ENHANCED_APPROVED": None,  # dotted path of callable(generated): e.g. make it the product's main image
    # confidence on every variant and edit (services.confidence): a result is flagged "needs a look" when
    "CONFIDENCE": {
        # (defaults measured on real photos by bench/bench_confidence.py, docs/benchmarks.md: an evaluator trained
        # minutes on a catalogue is too noisy a judge of colour to flag on its own, so by default its probability
        # is shown on the review page but flags nothing; a shop with a stronger evaluator may raise it)
        "min_probability": 0.0,  # ... the evaluator is less sure than this that it shows what was asked for
        "min_mask_changed": 0.5,  # ... a colour change reached less than this share of the product (its mask)
        "max_delta_e_outside": 2.0,  # ... ΔE00 outside the product (p95) exceeds this: the backdrop, skin changed
        "max_regions_apart": 0.13,  # ... on a worn item, the change covers two differently coloured regions this
        "min_region_share": 0.25,  # ... far apart (share of the height), the smaller at least this share of it
        "max_delta_e_target": 4.0,  # ... an exact colour (hex, swatch) was missed by more than this ΔE00
    },  # the mask thresholds apply to colour changes only (a design variation or a new category redraws it all)
    # purge
    "PURGE_GRACE_SECONDS": 3600,  # younger files are never purged: a running job may be about to commit them
    "PURGE_REJECTED_AFTER_DAYS": 0,  # rejected images (files and rows) are purged this long after review
    # jobs
    "JOB_MAX_ATTEMPTS": 3,
    "RUN_JOBS_INLINE": False,  # run a job in the enqueuing process (tests, `prodimg_backfill --inline`)
    "JOB_HANDLERS": {},  # job kind -> dotted path of a handler, replacing the built-in one
    "LONG_CLUSTER": "prodimg-long",  # django-q2 ALT_CLUSTERS name for long work (training), so it never blocks jobs
    "JOB_LEASE_SECONDS": 120,  # a running job whose heartbeat is older than this is picked up again
    "JOB_RETRY_BACKOFF_SECONDS": 10,  # doubled after each failed attempt
    "JOB_QUEUE_STALE_SECONDS": 600,  # a queued job this old is enqueued again if the broker lost its message
    # abuse: images a (non-superuser) user may queue per window, 0 for no limit
    "RATE_LIMIT_IMAGES": 200,
    "RATE_LIMIT_WINDOW_SECONDS": 3600,
    # input safety: every job's source is checked by the plugin itself, whatever the host's upload validates
    "MAX_IMAGE_PIXELS": 40_000_000,  # a larger image (width x height, read before decoding) is refused: pixel bombs
    "MAX_UPLOAD_BYTES": 20 * 1024 * 1024,  # a larger file is refused unread
    "MIN_IMAGE_SIDE": 64,  # a source whose short side (after EXIF rotation) is shorter is refused; 0: no minimum
    "MAX_ASPECT_RATIO": 4.0,  # a source whose long side exceeds this many times its short side is refused; 0: none
    # storefront
    "RECOMMENDER": "prodimg_plugin.storefront.recommenders.RareClickRecommender",  # class with rank() and update()
    "RECOMMENDER_SEED": None,  # seed of the recommender's random choices (tests); None: fresh entropy
    "EXPLORATION_FLOOR": 0.05,  # share of choices spread uniformly: every approved image keeps being tried
    "PERSONALIZE_CACHE_SECONDS": 1800,  # a shopper keeps seeing the same image of a product this long
    "PERSONALIZE_OPT_OUT": None,  # dotted path of callable(request) -> bool: True shows originals, logs nothing
    "CANDIDATES_CACHE_SECONDS": 300,  # a product's approved images are re-read at least this often
    "STATE_REFRESH_SECONDS": 5,  # how often a web process looks for a newer learned state
    "HISTORY_EVENTS": 200,  # a shopper's context summarises their last N events ...
    "HISTORY_DAYS": 30,  # ... of the last N days
    "LEARN_INTERVAL_SECONDS": 60,  # fold new events into the recommender at most this often (None: only by task)
    "LEARN_ATTRIBUTION_SECONDS": 600,  # an impression is learnt from once a click can no longer be expected
    "LEARN_BATCH_SIZE": 5000,  # impressions folded in per learning step
    # the rare-click recommender (prodimg_plugin.storefront.rare_clicks.RareClickRecommender)
    "SHOPPER_CONTEXT": "prodimg_plugin.storefront.shopper_context.default_context",  # callable(request) -> dict
    "REWARD_WEIGHTS": {"click": 1.0, "add_to_cart": 3.0, "purchase": 10.0},  # what an outcome is worth
    "ATTRIBUTION_HOURS": 24,  # an outcome counts for the decision that showed the image within this many hours
    "HALF_LIFE_DAYS": 14,  # learned preferences lose half their weight in this time (decayed hourly)
    "HOLDOUT_SHARE": 0.10,  # shoppers who always see the seller's main image: the report's comparison
    "MIN_EFFECTIVE_SAMPLE": 1000,  # below this effective sample size the report claims no lift
    "BASE_RATE": 0.005,  # prior click-through until the shop has its own (then the observed one is used)
    # taste-driven generation (evaluation.taste): the personalisation report proposes variants segments prefer
    "TASTE": {},  # overrides of ml.taste.TasteConfig: {"min_clicks": 20, "min_lift": 1.25, "alpha": 0.05}
    "TASTE_SEGMENT_KEYS": ("segment", "device", "campaign", "returning"),  # context keys that make segments
    "TASTE_PER_PRODUCT": 3,  # colours proposed per product at most
    "TASTE_MAX_PROPOSALS": 20,  # proposals shown at most
    "BOT_USER_AGENTS": ("bot", "crawler", "spider", "slurp", "curl/", "python-requests", "wget"),
    "BOT_EVENTS_PER_MINUTE": 120,  # a shopper posting more events than this per minute is treated as a bot
    "EVENTS_MAX_BATCH": 100,  # events in one POST to /api/prodimg/events/
    "ANONYMOUS_EVENTS_RETENTION_DAYS": 90,  # anonymous shoppers' events are purged after this (None: kept)
    "FEATURE_HISTOGRAM_BINS": 3,  # colour histogram bins per channel (bins**3 values) when no CVAE is active
    "FEATURE_ATTRIBUTE_BUCKETS": 32,  # slots the attribute values are hashed into
    # REST API
    "API_SCHEMA_PUBLIC": False,  # True serves /api/prodimg/schema/ to anyone; by default only active staff read it
    "API_PAGE_SIZE": 50,  # rows per page of the API's lists (generated/, events/); ?page_size= asks for up to ...
    "API_MAX_PAGE_SIZE": 500,  # ... this many
}

IMPORT_STRINGS = {"ATTRIBUTES", "RECOMMENDER", "PERSONALIZE_OPT_OUT", "ON_ENHANCED_APPROVED", "SHOPPER_CONTEXT"}


class ProdimgSettings:
    """Attribute access to PRODIMG with defaults; cached until settings change."""

    def __init__(self, defaults: dict | None = None):
        self.defaults = defaults or DEFAULTS
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict:
        if not hasattr(self, "_user_settings"):
            self._user_settings = getattr(settings, "PRODIMG", {}) or {}
        return self._user_settings

    def __getattr__(self, attr: str):
        if attr.startswith("_") or attr not in self.defaults:
            raise AttributeError(f"Invalid prodimg setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if attr in IMPORT_STRINGS and isinstance(value, str):
            value = import_string(value)
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def raw(self, attr: str):
        """The setting as written (a dotted path stays a string)."""
        return self.user_settings.get(attr, self.defaults[attr])

    def reload(self) -> None:
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()
        if hasattr(self, "_user_settings"):
            delattr(self, "_user_settings")


prodimg_settings = ProdimgSettings()


def _reload(*, setting: str, **kwargs) -> None:
    if setting == "PRODIMG":
        prodimg_settings.reload()


setting_changed.connect(_reload)


def image_model_label() -> str:
    """The host image model's label, read for model definitions and migrations (like AUTH_USER_MODEL)."""
    return (getattr(settings, "PRODIMG", {}) or {}).get("IMAGE_MODEL") or "prodimg_plugin.MissingImageModel"


__all__ = ["prodimg_settings", "DEFAULTS", "import_module"]
