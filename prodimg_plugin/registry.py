"""One registry idiom for prodimg's extension tables, in the manner of django-imagekit's `registry.py`.

    from prodimg_plugin.kinds import job_handlers

    job_handlers.register("watermark", "myshop.prodimg.add_watermark")   # a dotted path, imported on use
    job_handlers.get("watermark")                                        # -> the function
    job_handlers.unregister("watermark")

Registering a name twice raises `AlreadyRegistered`; asking for a name nobody registered raises `NotRegistered`,
whose message lists the names that are. An entry may be the object itself or the dotted path of it: a path is
imported on each `get`, so nothing heavy (torch) is imported before it is used, and a test that patches the
module attribute is obeyed. The tables themselves are declared, and filled with the built-in kinds, in
`prodimg_plugin.kinds`.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Generic, Iterator, TypeVar

from django.utils.module_loading import import_string

T = TypeVar("T")


class AlreadyRegistered(Exception):
    """A name registered twice (unregister it first to replace it)."""


class NotRegistered(LookupError):
    """A name nobody registered; the message lists the names that are."""


class Registry(Generic[T]):
    """Names -> entries (objects or dotted paths to them) of one kind of extension."""

    def __init__(self, what: str):
        self.what = what  # how the messages call an entry: "job handler", "model kind", ...
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | str | None = None):
        """Register `entry` under `name`; without `entry`, return a decorator that registers what it decorates."""
        if entry is None:
            def decorator(obj: T) -> T:
                self.register(name, obj)
                return obj
            return decorator
        if name in self._entries:
            raise AlreadyRegistered(f"{self.what} {name!r} is already registered; unregister it first to replace it")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        if name not in self._entries:
            raise NotRegistered(self._missing(name))
        del self._entries[name]

    def get(self, name: str) -> T:
        """The entry of `name` (a dotted path is imported now)."""
        try:
            entry = self._entries[name]
        except (KeyError, TypeError):
            raise NotRegistered(self._missing(name)) from None
        return import_string(entry) if isinstance(entry, str) else entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    @contextmanager
    def replaced(self, name: str, entry: T | str) -> Iterator[None]:
        """Register `entry` under `name` for the duration of a `with` block, in place of any entry there (tests)."""
        previous = self._entries.get(name)
        self._entries[name] = entry
        try:
            yield
        finally:
            if previous is None:
                self._entries.pop(name, None)
            else:
                self._entries[name] = previous

    def _missing(self, name) -> str:
        known = ", ".join(self.names()) or "none"
        return f"no {self.what} {name!r} is registered (registered: {known})"


