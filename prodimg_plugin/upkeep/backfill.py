"""Backfill: run one kind of work over the whole catalogue, resumably, in memory flat in the catalogue's size.

    summary = backfill(BackfillOptions("enhance", missing_only=True), progress=bar.update)

Kinds: variants, edits (with a target), enhance (jobs, one per image), quality (scores computed here) and
embeddings (recommender features, computed here).

- **Streaming.** Host images are read in primary-key pages of `batch_size` (keyset pagination: each page is a
  short query, so no cursor stays open for the hours a run can take while the same connection writes); what
  is already done is looked up once per page.
- **Resumable without duplicates.** Each job has an idempotency key, ``backfill:<kind>:<image id>`` (plus the
  target for edits), unique in the database: a rerun finds the job an earlier run made instead of making a
  new one, skips it if it succeeded, and runs it again if it failed or its process was killed. Quality scores
  and features are one row per image and are skipped while their file is unchanged.
- **--missing-only** also skips images that already have such a result from elsewhere (the admin action, the
  API, an earlier photo): a pending or approved result of the kind, any quality score, stored features.
- **--since DATE** only takes images whose file was written on or after DATE (the storage's modified time).
- **--dry-run** counts what would be done and writes nothing.
"""
from __future__ import annotations

import hashlib
import logging
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

from django.db import reset_queries
from django.db.models import Q

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation import jobs
from prodimg_plugin.host import get_image_model, image_file
from prodimg_plugin.images import BadSourceImage, open_source
from prodimg_plugin.models import GeneratedImage, ImageFeatures, ImageJob, QualityScore
from prodimg_plugin.storefront.context import source_key
from prodimg_plugin.upkeep import quality

log = logging.getLogger(__name__)

KINDS = ("variants", "edits", "enhance", "quality", "embeddings")
MAX_LISTED_FAILURES = 50  # the summary counts every failure but lists only the first ones (memory stays flat)


class BackfillError(Exception):
    """Options that cannot work (an edit target the model does not know, no model); shown as they are."""


@dataclass
class BackfillOptions:
    kind: str
    missing_only: bool = False
    since: datetime | None = None
    limit: int | None = None  # at most this many images processed (done or failed); skipped ones don't count
    batch_size: int = 200
    inline: bool = True  # False: queue the jobs for the workers (quality and embeddings always run here)
    dry_run: bool = False
    target: dict[str, str] = field(default_factory=dict)  # edits: attribute -> value
    colour_targets: list[dict] = field(default_factory=list)  # variants: exact colours (generation.colour_targets)
    user: object = None


@dataclass
class Summary:
    kind: str
    dry_run: bool = False
    queued: bool = False  # jobs were handed to the workers rather than run here
    done: int = 0  # run (or queued, or would be run in a dry run)
    skipped: int = 0
    failed: int = 0
    skip_reasons: Counter = field(default_factory=Counter)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (image id, why): the first ones only
    unsupported: str = ""

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] += 1

    def fail(self, image_id: int, reason: str) -> None:
        self.failed += 1
        log.warning("backfill %s: image %s failed: %s", self.kind, image_id, reason)
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append((image_id, reason))


def backfill(opts: BackfillOptions, progress: Callable[[int], None] | None = None) -> Summary:
    """Run `opts.kind` over the catalogue; progress(1) after each image looked at. Never raises for one image."""
    summary = Summary(opts.kind, opts.dry_run, queued=not opts.inline and opts.kind in JOB_KINDS)
    handler = handler_for(opts)
    if isinstance(handler, str):
        summary.unsupported = handler
        return summary
    for batch in batches(catalogue(), opts.batch_size):
        state = handler.prepare(batch)
        for image in batch:
            if opts.limit is not None and summary.done + summary.failed >= opts.limit:
                return summary
            _one(handler, image, state, opts, summary)
            if progress:
                progress(1)
        handler.batch_done()
        reset_queries()  # DEBUG=True would otherwise keep every query of the run
    return summary


def _one(handler, image, state, opts: BackfillOptions, summary: Summary) -> None:
    if isinstance(image, Unreadable):
        summary.fail(image.pk, image.error)
        return
    why = _older_than(image, opts.since) or handler.skip_reason(image, state)
    if why:
        summary.skip(why)
    elif opts.dry_run:
        summary.done += 1
    else:
        handler.run(image, state, summary)


def catalogue():
    """Every host product image: what a backfill walks through."""
    return get_image_model()._default_manager.all()


def batches(queryset, size: int) -> Iterator[list]:
    """Pages of `size` rows in primary-key order, each from its own short queries."""
    last = None
    while True:
        page = queryset.order_by("pk") if last is None else queryset.filter(pk__gt=last).order_by("pk")
        ids = list(page.values_list("pk", flat=True)[: max(1, size)])
        if not ids:
            return
        yield _load(queryset, ids)
        last = ids[-1]


@dataclass
class Unreadable:
    """A host image row that cannot even be loaded: an ImageField without stored dimensions reads its file."""

    pk: int
    error: str


def _load(queryset, ids: list[int]) -> list:
    try:
        return list(queryset.filter(pk__in=ids).order_by("pk"))
    except OSError:  # one vanished file must not cost the page: load row by row
        return [row for row in (_load_one(queryset, pk) for pk in ids) if row is not None]


def _load_one(queryset, pk: int):
    try:
        return queryset.filter(pk=pk).first()
    except OSError as exc:
        return Unreadable(pk, f"the file of product image {pk} has vanished from storage ({exc})")


def _older_than(image, since: datetime | None) -> str:
    if since is None:
        return ""
    field_file = image_file(image)
    try:
        written = field_file.storage.get_modified_time(field_file.name)
    except (OSError, NotImplementedError, ValueError):
        return ""  # unknown: process it (a vanished file fails with its own message)
    return "file older than --since" if written < since else ""


def handler_for(opts: BackfillOptions):
    """The handler of a kind, or a string saying why the kind is unsupported here."""
    if opts.kind not in KINDS:
        raise BackfillError(f"unknown kind {opts.kind!r}; choose from {', '.join(KINDS)}")
    if opts.kind == "quality":
        return QualityHandler(opts)
    if opts.kind == "embeddings":
        return EmbeddingsHandler.create(opts)
    return JobHandler(opts, job_params(opts))


def job_params(opts: BackfillOptions) -> dict:
    """The params of every job of this run, validated (a bad edit target stops the run before it starts)."""
    from prodimg_plugin.weights import ModelUnavailable

    if opts.kind == "variants":
        from prodimg_plugin.generation.params import variant_params

        try:
            return variant_params(targets=opts.colour_targets or None)
        except (jobs.JobError, ModelUnavailable) as exc:
            raise BackfillError(str(exc)) from exc
    if opts.kind == "edits":
        from prodimg_plugin.generation.params import edit_params

        if not opts.target:
            raise BackfillError("edits need a target: --target colour=red")
        try:
            return edit_params(opts.target)
        except (jobs.JobError, ModelUnavailable) as exc:
            raise BackfillError(str(exc)) from exc
    return {}


# ---- jobs: variants, edits, enhance ------------------------------------------------------------------------

JOB_KINDS = {"variants": ImageJob.Kind.VARIANTS, "edits": ImageJob.Kind.EDITS, "enhance": ImageJob.Kind.ENHANCE}


def backfill_key(kind: str, image_id: int, params: dict) -> str:
    """The job's idempotency key: backfill:<kind>:<image id>, plus the target of an edit or the exact colours of
    colourways."""
    target = ",".join(f"{k}={v}" for k, v in sorted((params.get("target") or {}).items()))
    target += ",".join(f"{t['colour']}@{'-'.join(map(str, t.get('parts') or []))}" for t in params.get("targets") or [])
    key = f"backfill:{kind}:{image_id}" + (f":{target}" if target else "")
    return key if len(key) <= 200 else f"backfill:{kind}:{image_id}:{hashlib.sha1(key.encode()).hexdigest()}"


class JobHandler:
    """One job per image, found again by its key on a rerun."""

    def __init__(self, opts: BackfillOptions, params: dict):
        self.opts, self.params = opts, params
        self.job_kind = JOB_KINDS[opts.kind]

    def key(self, image) -> str:
        return backfill_key(self.opts.kind, image.pk, self.params)

    def prepare(self, batch: list) -> tuple[dict, set]:
        """(key -> existing job, ids of images that already have a result) for one page."""
        found = {j.key: j for j in ImageJob.objects.filter(key__in=[self.key(i) for i in batch])}
        have = self._have_results([i.pk for i in batch]) if self.opts.missing_only else set()
        return found, have

    def _have_results(self, ids: list[int]) -> set[int]:
        rows = (GeneratedImage.objects.filter(source_id__in=ids, kind=jobs.RESULT_KIND[self.job_kind])
                .exclude(status=GeneratedImage.Status.REJECTED).values_list("source_id", "params"))
        target = self.params.get("target")
        return {sid for sid, params in rows if not target or (params or {}).get("target") == target}

    def skip_reason(self, image, state) -> str:
        found, have = state
        job = found.get(self.key(image))
        if job is not None and job.status == ImageJob.Status.SUCCEEDED:
            return "done by an earlier backfill"
        if image.pk in have:
            return "already has one (--missing-only)"
        if job is not None and job.status == ImageJob.Status.RUNNING and not jobs.worker_gone(job):
            return "running in another process"
        if job is not None and job.status == ImageJob.Status.QUEUED and not self.opts.inline and job.enqueued_at:
            return "already queued"
        return ""

    def run(self, image, state, summary: Summary) -> None:
        job = state[0].get(self.key(image)) or self._create(image)
        revive(job)
        if not self.opts.inline:
            jobs.enqueue(job.pk)
            summary.done += 1
            return
        record(jobs.run_job(job.pk), image.pk, summary)

    def _create(self, image) -> ImageJob:
        key = self.key(image)
        params = {"seed": zlib.crc32(key.encode()) & 0x7FFFFFFF, **self.params}  # a rerun draws the same
        job, _ = ImageJob.objects.get_or_create(key=key, defaults={
            "kind": self.job_kind, "source": image, "params": params, "created_by": self.opts.user,
            "max_attempts": prodimg_settings.JOB_MAX_ATTEMPTS})
        return job

    def batch_done(self) -> None:
        pass


def revive(job: ImageJob) -> None:
    """Make an unfinished job claimable now: failed or killed ones start again with fresh attempts.

    Guarded by what was seen, so a job another worker claimed meanwhile is left to it.
    """
    if job.status == ImageJob.Status.SUCCEEDED:
        return
    unchanged = Q(status__in=[ImageJob.Status.QUEUED, ImageJob.Status.FAILED]) | Q(
        status=ImageJob.Status.RUNNING, worker=job.worker)
    ImageJob.objects.filter(unchanged, pk=job.pk).update(
        status=ImageJob.Status.QUEUED, attempts=0, error="", not_before=None, worker="", heartbeat_at=None)


def record(job: ImageJob | None, image_id: int, summary: Summary) -> None:
    """Count an inline job's outcome."""
    if job is None:
        summary.skip("taken by another worker")
    elif job.status == ImageJob.Status.SUCCEEDED:
        summary.done += 1
    elif job.status == ImageJob.Status.FAILED:
        summary.fail(image_id, job.error)
    else:  # a transient error: queued again with a backoff; a rerun (or the workers) will try it again
        summary.fail(image_id, f"will be retried: {job.error}")


# ---- computed here: quality and embeddings -----------------------------------------------------------------

class QualityHandler:
    """A QualityScore per image; an image whose file was scored before is skipped."""

    def __init__(self, opts: BackfillOptions):
        self.opts = opts

    def prepare(self, batch: list) -> dict[int, str]:
        ids = [i.pk for i in batch]
        return dict(QualityScore.objects.filter(source_id__in=ids).values_list("source_id", "file_name"))

    def skip_reason(self, image, scored: dict[int, str]) -> str:
        if image.pk not in scored:
            return ""
        if scored[image.pk] == (image_file(image).name or ""):
            return "scored before (file unchanged)"
        return "has a score (--missing-only)" if self.opts.missing_only else ""

    def run(self, image, state, summary: Summary) -> None:
        try:
            quality.assess_image(image, force=True)
        except BadSourceImage as exc:
            summary.fail(image.pk, str(exc))
            return
        summary.done += 1

    def batch_done(self) -> None:
        pass


class EmbeddingsHandler:
    """Recommender features of each original image, through `storefront.features`."""

    def __init__(self, opts: BackfillOptions, features):
        self.opts, self.features = opts, features

    @classmethod
    def create(cls, opts: BackfillOptions):
        from prodimg_plugin.storefront import features

        return cls(opts, features)

    def prepare(self, batch: list) -> set[int]:
        space = self.features.current_space()
        rows = ImageFeatures.objects.filter(generated__isnull=True, source_id__in=[i.pk for i in batch])
        return {row.source_id for row in rows if space.accepts(row)}

    def skip_reason(self, image, have: set[int]) -> str:
        return "has features" if image.pk in have else ""

    def run(self, image, state, summary: Summary) -> None:
        key = source_key(image.pk)
        if key in self.features.vectors([key]):
            summary.done += 1
            return
        try:
            open_source(image)
        except BadSourceImage as exc:
            summary.fail(image.pk, str(exc))
            return
        summary.fail(image.pk, "features could not be computed (see the log)")

    def batch_done(self) -> None:
        self.features.clear_cache()  # its per-process cache would otherwise grow with the catalogue
