"""A recommender's learned state: the hot copy in Django's cache, the durable one in RecommenderState.

The learner writes both after each learning step (`commit`, guarded so two processes never fold the same
events twice); web processes look for a newer version every PRODIMG["STATE_REFRESH_SECONDS"] (one small query)
and load it only when it changed, from the cache when it holds that version (Redis: shared by all processes),
else from the database. A decision itself never reads state from the database.
"""
from __future__ import annotations

import time

from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.models import RecommenderState


def _version(row_or_values) -> str:
    last, seen, at = row_or_values  # `at` changes on a commit that learnt nothing (a decay)
    return f"{last}.{seen}.{int(at.timestamp() * 1000) if at else 0}"


class StateStore:
    """Storage of one recommender's state, named after the recommender (RecommenderState.name)."""

    def __init__(self, name: str):
        self.name = name
        self.state_key = f"prodimg:recommender:{name}:state"
        self.loaded_version: str | None = None  # what this process's recommender holds
        self.checked_at = float("-inf")

    def row(self) -> RecommenderState:
        """The durable row (created empty the first time)."""
        return RecommenderState.objects.get_or_create(name=self.name)[0]

    def latest_version(self) -> str | None:
        """The stored version (one small query: the database is the truth, whatever cache each process has)."""
        values = RecommenderState.objects.filter(name=self.name).values_list("last_event_id", "events_seen", "updated_at").first()
        return _version(values) if values else None

    def load(self, version: str | None) -> dict:
        """The state of `version`: the cache's hot copy when it is that version, else the database's."""
        hot = cache.get(self.state_key)
        if hot is not None and hot["version"] == version:
            return hot["state"]
        row = RecommenderState.objects.filter(name=self.name).first()
        if row is None:
            return {}
        self.publish(row.state, _version((row.last_event_id, row.events_seen, row.updated_at)))
        return row.state

    def publish(self, state: dict, version: str) -> None:
        cache.set(self.state_key, {"state": state, "version": version}, timeout=None)

    def refresh(self, recommender, force: bool = False) -> None:
        """Give `recommender` the newest state if it has changed (checked at most every STATE_REFRESH_SECONDS)."""
        if not hasattr(recommender, "load_state"):
            return
        now = time.monotonic()
        if not force and now - self.checked_at < prodimg_settings.STATE_REFRESH_SECONDS:
            return
        self.checked_at = now
        version = self.latest_version()
        if version == self.loaded_version:
            return
        recommender.load_state(self.load(version) if version else {})
        self.loaded_version = version

    def commit(self, row: RecommenderState, cursor: int, state: dict, learnt: int) -> bool:
        """Save state and cursor if nobody else has learnt since `row` was read; publish to the cache."""
        now = timezone.now()
        values = {"last_event_id": cursor, "events_seen": F("events_seen") + learnt, "updated_at": now}
        if state is not None:
            values["state"] = state
        updated = RecommenderState.objects.filter(pk=row.pk, last_event_id=row.last_event_id).update(**values)
        if not updated:
            return False
        version = _version((cursor, row.events_seen + learnt, now))
        if state is not None:
            self.publish(state, version)
        self.loaded_version = version
        return True
