"""What a decision knows about the shopper before any click: a small dict of coarse, non-identifying facts.

PRODIMG["SHOPPER_CONTEXT"] names a callable(request) -> dict[str, str]; the default, `default_context`, gives

    device     phone / tablet / desktop, from the user-agent
    page       the page type: home, product, category, search, cart, other (from the URL)
    campaign   the utm_campaign of the landing URL, or the referrer's kind (search, social, email, none)
    returning  yes / no: whether the shopper has a session from an earlier visit (or is signed in)
    hour       hour of week in 4-hour blocks (mon-08 ...), in the server's time zone
    segment    the host's own segment of a signed-in user, when the user has a `segment` attribute

Every value is a short word; nothing that identifies a person (no IP, no user-agent string, no id) is kept.
The dict is stored on the impression (ImageEvent.context) so that learning sees what the decision saw.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlparse

from django.conf import settings
from django.utils import timezone

from prodimg_plugin.conf import prodimg_settings

log = logging.getLogger(__name__)

MAX_VALUE = 40  # characters kept of any value
SEARCH = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.")
SOCIAL = ("facebook.", "instagram.", "t.co", "twitter.", "pinterest.", "tiktok.", "reddit.", "linkedin.")
EMAIL = ("mail.", "outlook.", "newsletter")
CAMPAIGN_SESSION_KEY = "prodimg_campaign"


def default_context(request) -> dict[str, str]:
    """The built-in shopper context of a request (see the module docstring)."""
    return {"device": device_class(request.META.get("HTTP_USER_AGENT", "")), "page": page_type(request.path),
            "campaign": campaign(request), "returning": "yes" if _returning(request) else "no",
            "hour": hour_of_week(), **_segment(request)}


def context_of(request) -> dict[str, str]:
    """PRODIMG["SHOPPER_CONTEXT"](request), cleaned to short strings; {} if the hook fails (logged)."""
    hook = prodimg_settings.SHOPPER_CONTEXT
    if hook is None:
        return {}
    try:
        raw = hook(request) or {}
    except Exception:
        log.exception("PRODIMG['SHOPPER_CONTEXT'] failed; deciding without context")
        return {}
    return {str(k)[:MAX_VALUE]: str(v)[:MAX_VALUE] for k, v in raw.items() if v not in (None, "")}


def device_class(user_agent: str) -> str:
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "mobi" in ua or "iphone" in ua or "android" in ua:
        return "phone"
    return "desktop"


def page_type(path: str) -> str:
    p = path.lower()
    if p in ("", "/"):
        return "home"
    for word, kind in (("product", "product"), ("categor", "category"), ("search", "search"), ("cart", "cart"),
                       ("basket", "cart"), ("checkout", "cart")):
        if word in p:
            return kind
    return "other"


def campaign(request) -> str:
    """utm_campaign of this or the visit's landing request (kept in the session), else the referrer's kind."""
    utm = request.GET.get("utm_campaign", "")
    session = getattr(request, "session", None)
    if utm:
        utm = re.sub(r"[^a-z0-9_-]", "", utm.lower())[:MAX_VALUE]
        if session is not None:
            session[CAMPAIGN_SESSION_KEY] = utm
        return utm
    if session is not None and session.get(CAMPAIGN_SESSION_KEY):
        return session[CAMPAIGN_SESSION_KEY]
    host = urlparse(request.META.get("HTTP_REFERER", "")).netloc.lower()
    if not host or host == request.get_host().lower():
        return "none"
    for names, kind in ((SEARCH, "search"), (SOCIAL, "social"), (EMAIL, "email")):
        if any(n in host for n in names):
            return kind
    return "referral"


def hour_of_week(now=None) -> str:
    now = timezone.localtime(now or timezone.now())
    return f"{now.strftime('%a').lower()}-{now.hour // 4 * 4:02d}"


def is_bot(request) -> bool:
    """A crawler or script by its user-agent (PRODIMG["BOT_USER_AGENTS"], substrings)."""
    ua = request.META.get("HTTP_USER_AGENT", "").lower()
    return any(word in ua for word in prodimg_settings.BOT_USER_AGENTS)


def _returning(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    # a session cookie that came with the request: the shopper was here before (this visit or an earlier one)
    return bool(getattr(getattr(request, "session", None), "session_key", None)
                and request.COOKIES.get(settings.SESSION_COOKIE_NAME))


def _segment(request) -> dict[str, str]:
    user = getattr(request, "user", None)
    segment = getattr(user, "segment", None) if user is not None and user.is_authenticated else None
    return {"segment": str(segment)} if segment else {}
