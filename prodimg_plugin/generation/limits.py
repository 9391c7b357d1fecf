"""Per-user rate limit on generation and edit requests (abuse: each job costs CPU minutes)."""
from __future__ import annotations

import time

from django.core.cache import cache

from prodimg_plugin.conf import prodimg_settings


class RateLimited(Exception):
    """Too many images queued by one user in the current window; the message says when to try again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def charge(user, images: int) -> None:
    """Count `images` against the user's window; raise RateLimited (counting nothing) when over the limit."""
    limit = prodimg_settings.RATE_LIMIT_IMAGES
    window = prodimg_settings.RATE_LIMIT_WINDOW_SECONDS
    if not limit or user is None or not getattr(user, "pk", None) or getattr(user, "is_superuser", False):
        return
    start = int(time.time()) // window * window
    key = f"prodimg:rate:{user.pk}:{start}"
    used = cache.get(key, 0)
    if used + images > limit:
        retry = start + window - int(time.time())
        raise RateLimited(f"Rate limit: at most {limit} images per {window // 60} minutes per user "
                          f"({used} used). Try again in {max(retry, 1) // 60 + 1} minutes.", retry)
    if not cache.add(key, images, window + 5):
        cache.incr(key, images)
