"""Where generated images live: unpublished ones privately, approved ones where shoppers can fetch them.

Every generated file (an image and its renditions) is written to the private storage: PRODIMG["PRIVATE_STORAGE"]
names an entry of Django's STORAGES (e.g. a private S3 bucket); unset, a folder beside MEDIA_ROOT
(`<MEDIA_ROOT>-prodimg-private`), which the web server does not serve. Its files reach the admin only through a
permission-checked view. Approving an image copies its files, under the same names, to the public storage
(STORAGES["default"]); rejecting it again removes those copies. `GeneratedImage.image` uses `ReviewStorage`,
which reads from either (files written before this split stay readable) and writes privately.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.urls import reverse
from django.utils.deconstruct import deconstructible


def private_storage() -> Storage:
    """The storage of unpublished files (read anew, so that a changed MEDIA_ROOT or setting takes effect)."""
    alias = (getattr(settings, "PRODIMG", None) or {}).get("PRIVATE_STORAGE")  # conf.DEFAULTS documents it
    if alias:
        return storages[alias]
    media = Path(settings.MEDIA_ROOT)
    return FileSystemStorage(location=media.parent / f"{media.name}-prodimg-private", base_url=None)


def public_url(name: str) -> str:
    """The shoppers' address of a published file (an approved image or one of its renditions)."""
    return default_storage.url(name)


@deconstructible(path="prodimg_plugin.storage.ReviewStorage")
class ReviewStorage(Storage):
    """Writes privately; reads the private copy, else a published one; a URL of the published copy when there is
    one, else of the permission-checked admin view."""

    def _save(self, name, content):
        return private_storage().save(name, content)

    def get_available_name(self, name, max_length=None):
        return private_storage().get_available_name(name, max_length=max_length)

    def _open(self, name, mode="rb"):
        store = private_storage()
        return store.open(name, mode) if store.exists(name) else default_storage.open(name, mode)

    def exists(self, name):
        return private_storage().exists(name) or default_storage.exists(name)

    def delete(self, name):
        for store in (private_storage(), default_storage):
            if store.exists(name):
                store.delete(name)

    def size(self, name):
        store = private_storage()
        return store.size(name) if store.exists(name) else default_storage.size(name)

    def listdir(self, path):
        dirs, files = set(), set()
        for store in (private_storage(), default_storage):
            try:
                d, f = store.listdir(path)
            except (FileNotFoundError, NotImplementedError, OSError):
                continue
            dirs.update(d), files.update(f)
        return sorted(dirs), sorted(files)

    def path(self, name):
        """A local path, for storages that have one (filesystem); the private copy first."""
        store = private_storage()
        return store.path(name) if store.exists(name) else default_storage.path(name)

    def get_modified_time(self, name):
        store = private_storage()
        return store.get_modified_time(name) if store.exists(name) else default_storage.get_modified_time(name)

    def url(self, name):
        if default_storage.exists(name):
            return public_url(name)
        return reverse("admin:prodimg_plugin_generatedimage_file", args=[name])


def review_storage() -> ReviewStorage:
    return ReviewStorage()


def publish(names: list[str]) -> None:
    """Copy private files to the public storage under the same names (approval)."""
    store = private_storage()
    for name in names:
        if name and store.exists(name) and not default_storage.exists(name):
            with store.open(name, "rb") as fh:
                default_storage.save(name, fh)


def unpublish(names: list[str]) -> None:
    """Remove the public copies (rejection after approval); the private files stay until a purge."""
    for name in names:
        if name and default_storage.exists(name) and private_storage().exists(name):
            default_storage.delete(name)
