"""Purge: files the plugin no longer needs.

- **Orphaned files**: anything under the plugin's upload folders (GENERATED_UPLOAD_TO, RENDITIONS_UPLOAD_TO,
  WEIGHTS_UPLOAD_TO) that no row references, e.g. what a killed job wrote before it could commit. Files
  younger than PURGE_GRACE_SECONDS are left alone: a running job writes its files just before their rows.
- **Rejected images**: generated images rejected more than PURGE_REJECTED_AFTER_DAYS ago lose their files
  *and their rows*. A row without its file would show as a broken picture in the admin and could never be
  approved again; the decision is kept nowhere else, so the job stays (its results are simply gone) and the
  recommender's events keep their history with `generated` set to null.
- **Old renditions**: renditions of sizes or formats no longer configured (PRODIMG["ENHANCE"]), removed from
  their row's `renditions` and from storage.
- **Anonymous shoppers' events** older than ANONYMOUS_EVENTS_RETENTION_DAYS (None keeps them): the storefront's
  impressions and clicks of shoppers who were not signed in. A django-q2 schedule runs this part daily
  (`tasks.purge_anonymous_events`); `prodimg_purge` runs it with the rest.

The host's own files are never touched. Only the storage API is used, so any Django storage backend works.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterator

from django.db import transaction
from django.utils import timezone

from ml.enhance import available_formats
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.models import GeneratedImage, ImageEvent, ModelVersion


@dataclass
class PurgePlan:
    orphaned: list[str] = field(default_factory=list)  # storage names
    rejected: list[tuple[int, list[str]]] = field(default_factory=list)  # (generated id, its files)
    old_renditions: list[tuple[int, str, str]] = field(default_factory=list)  # (generated id, key, storage name)
    young: int = 0  # orphaned files left alone because they are younger than the grace period
    anonymous_events: int = 0  # anonymous shoppers' events past the retention period

    def files(self) -> list[str]:
        """Every file the plan removes."""
        return self.orphaned + [n for _, names in self.rejected for n in names] + [n for *_, n in self.old_renditions]


def purge(dry_run: bool = False) -> PurgePlan:
    """Find what can go and, unless `dry_run`, remove it. Returns what was (or would be) removed."""
    plan = plan_purge()
    if not dry_run:
        apply(plan)
    plan.anonymous_events = purge_anonymous_events(dry_run=dry_run)
    return plan


def plan_purge() -> PurgePlan:
    """What a purge would remove now (reads only)."""
    plan = PurgePlan(rejected=list(rejected_images()), old_renditions=list(old_renditions()))
    referenced = referenced_files()
    grace = timezone.now() - timedelta(seconds=prodimg_settings.PURGE_GRACE_SECONDS)
    for storage, folder in upload_folders():
        for name in walk(storage, folder):
            if name in referenced:
                continue
            referenced.add(name)  # nested folders would list a file twice
            if _modified(storage, name) > grace:
                plan.young += 1
            else:
                plan.orphaned.append(name)
    return plan


def upload_folders():
    """(storage, folder) of every folder the plugin writes to."""
    generated = GeneratedImage._meta.get_field("image").storage
    weights = ModelVersion._meta.get_field("weights").storage
    return [(generated, prodimg_settings.GENERATED_UPLOAD_TO), (generated, prodimg_settings.RENDITIONS_UPLOAD_TO),
            (weights, prodimg_settings.WEIGHTS_UPLOAD_TO)]


def walk(storage, folder: str) -> Iterator[str]:
    """Storage names of all files under `folder` (which ends with a slash)."""
    try:
        dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in sorted(files):
        yield folder + name
    for sub in sorted(dirs):
        yield from walk(storage, f"{folder}{sub}/")


def _modified(storage, name: str):
    try:
        return storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        return timezone.now() - timedelta(days=36500)  # a storage that cannot tell: judged by references alone


def referenced_files() -> set[str]:
    """Every storage name a row points at: generated images, their renditions, model weights."""
    names = set(ModelVersion.objects.values_list("weights", flat=True).iterator())
    for image, renditions in GeneratedImage.objects.values_list("image", "renditions").iterator(chunk_size=2000):
        names.add(image)
        names.update((renditions or {}).values())
    return names


def rejected_images() -> Iterator[tuple[int, list[str]]]:
    """(id, files) of generated images rejected more than PURGE_REJECTED_AFTER_DAYS ago."""
    cutoff = timezone.now() - timedelta(days=prodimg_settings.PURGE_REJECTED_AFTER_DAYS)
    rows = GeneratedImage.objects.filter(status=GeneratedImage.Status.REJECTED, reviewed_at__lte=cutoff)
    for pk, image, renditions in rows.values_list("pk", "image", "renditions").iterator(chunk_size=2000):
        yield pk, [n for n in [image, *(renditions or {}).values()] if n]


def current_rendition_keys() -> set[str]:
    """Rendition names ("600x800.webp") the present settings make."""
    from prodimg_plugin.generation.enhance import enhance_config

    cfg = enhance_config()
    return {f"{w}x{h}.{fmt}" for w, h in cfg.rendition_sizes for fmt in available_formats(cfg.rendition_formats)}


def old_renditions() -> Iterator[tuple[int, str, str]]:
    """(id, key, file) of renditions the present settings no longer make, on images that are not rejected."""
    wanted = current_rendition_keys()
    rows = GeneratedImage.objects.exclude(status=GeneratedImage.Status.REJECTED).values_list("pk", "renditions")
    for pk, renditions in rows.iterator(chunk_size=2000):
        for key, name in (renditions or {}).items():
            if key not in wanted:
                yield pk, key, name


def apply(plan: PurgePlan) -> None:
    """Remove what the plan lists: rows first, then their files (a file left behind is an orphan next time).

    An image approved again since the plan was made keeps its row and its files.
    """
    storage = GeneratedImage._meta.get_field("image").storage
    with transaction.atomic():
        still = GeneratedImage.objects.select_for_update().filter(
            pk__in=[pk for pk, _ in plan.rejected], status=GeneratedImage.Status.REJECTED)
        gone = set(still.values_list("pk", flat=True))
        GeneratedImage.objects.filter(pk__in=gone).delete()
        dropped = [name for pk, key, name in plan.old_renditions if _drop_rendition(pk, key)]
    for name in [n for pk, names in plan.rejected if pk in gone for n in names] + dropped:
        storage.delete(name)
    folders = upload_folders()
    for name in plan.orphaned:
        next(s for s, folder in folders if name.startswith(folder)).delete(name)


def _drop_rendition(pk: int, key: str) -> bool:
    generated = GeneratedImage.objects.select_for_update().filter(pk=pk).only("renditions").first()
    if generated is None or key not in (generated.renditions or {}):
        return False
    del generated.renditions[key]
    generated.save(update_fields=["renditions"])
    return True


def expired_anonymous_events(now=None):
    """Anonymous shoppers' events older than ANONYMOUS_EVENTS_RETENTION_DAYS (none when it is None)."""
    days = prodimg_settings.ANONYMOUS_EVENTS_RETENTION_DAYS
    if days is None:
        return ImageEvent.objects.none()
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return ImageEvent.objects.filter(user__isnull=True, created_at__lt=cutoff)


def purge_anonymous_events(now=None, dry_run: bool = False) -> int:
    """Delete (or, dry, count) anonymous shoppers' events past the retention period; returns how many."""
    expired = expired_anonymous_events(now)
    return expired.count() if dry_run else expired.delete()[1].get(ImageEvent._meta.label, 0)
