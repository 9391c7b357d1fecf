"""Old home of the recommenders, kept so that a host whose settings name
"prodimg_plugin.recommenders.ThompsonRecommender" (the default before the rare-click recommender) keeps working.
They live in `prodimg_plugin.storefront.recommenders`."""
from prodimg_plugin.storefront.recommenders import (  # noqa: F401
    Candidate,
    Feedback,
    OriginalImageRecommender,
    Ranked,
    RareClickRecommender,
    ShopperContext,
    ThompsonRecommender,
)
