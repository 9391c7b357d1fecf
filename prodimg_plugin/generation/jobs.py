"""Jobs: create, enqueue after commit, claim with a lease, run, commit results exactly once, retry, reap.

`ImageJob` is the truth and the queue only a doorbell: enqueueing a job twice, a worker killed mid-job or a
task lost by the broker never makes two sets of results, because a job is claimed with a conditional UPDATE
(one winner), its results are keyed by (job, slot) and they are committed together with the job's final
status, guarded by the claim token.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from datetime import timedelta
from typing import Callable, Iterable

from django.core.files.base import ContentFile
from django.db import Error as DatabaseFault
from django.db import IntegrityError, router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import get_valid_filename

from ml.checkpoint import CheckpointError
from ml.images import put_alpha, split_alpha
from ml.vocab import UnknownAttributeValue
from prodimg_plugin import signals
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation.handler import CONFIDENCE_FIELDS, JobError, Result  # noqa: F401  (jobs.JobError)
from prodimg_plugin.host import attributes_of, get_image_model
from prodimg_plugin.images import BadSourceImage, as_content_file, job_source
from prodimg_plugin.kinds import job_handlers
from prodimg_plugin.models import GeneratedImage, ImageJob
from prodimg_plugin.weights import ModelUnavailable

log = logging.getLogger(__name__)

RESULT_KIND = {
    ImageJob.Kind.VARIANTS: GeneratedImage.Kind.VARIANT,
    ImageJob.Kind.EDITS: GeneratedImage.Kind.EDIT,
    ImageJob.Kind.ENHANCE: GeneratedImage.Kind.ENHANCED,
}


PERMANENT_ERRORS = (JobError, BadSourceImage, UnknownAttributeValue, CheckpointError, ModelUnavailable)

# job kinds whose results are pixel-aligned with their source: a transparent source's alpha is put back on them
# (an enhanced photo is trimmed, centred and resized, so it is made on the white backdrop instead)
KEEPS_ALPHA = (ImageJob.Kind.VARIANTS, ImageJob.Kind.EDITS)


# ---- creating and enqueueing -------------------------------------------------------------------------------

def create_jobs(kind: str, images: Iterable, params: dict | None = None, user=None) -> list[ImageJob]:
    """One queued job per host image, enqueued once the surrounding transaction commits.

    Raises limits.RateLimited when `user` has queued too many images in the current window.
    """
    from prodimg_plugin.generation.limits import charge

    params = dict(params or {})
    images = list(images)
    charge(user, len(images))
    jobs = []
    with transaction.atomic():
        for image in images:
            job_params = {"seed": random.SystemRandom().randrange(2**31), **params}
            job = ImageJob.objects.create(kind=kind, source=image, params=job_params, created_by=user,
                                          max_attempts=prodimg_settings.JOB_MAX_ATTEMPTS)
            transaction.on_commit(lambda pk=job.pk: enqueue(pk))
            jobs.append(job)
    return jobs


def enqueue(job_id: int) -> None:
    """Ring the doorbell: hand the job id to django-q2 (or run it here when RUN_JOBS_INLINE is set)."""
    from django_q.tasks import async_task

    if prodimg_settings.RUN_JOBS_INLINE:
        ImageJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
        run_job(job_id)
        return

    task_id = async_task("prodimg_plugin.tasks.run_image_job", job_id, task_name=f"prodimg-job-{job_id}-{uuid.uuid4().hex[:6]}")
    ImageJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now(), task_id=str(task_id or "")[:64])


# ---- running ------------------------------------------------------------------------------------------------

def run_job(job_id: int) -> ImageJob | None:
    """Run one job if it can be claimed; never raises for the job's own failures (they land on the row)."""
    token = _claim(job_id)
    if token is None:
        return None
    job = ImageJob.objects.get(pk=job_id)
    try:
        results = _produce(job, token)
        _commit(job, token, results)
    except PERMANENT_ERRORS as exc:
        _fail(job, token, str(exc))
    except Exception as exc:  # transient (database, memory, bugs): retry with backoff, then fail
        log.exception("prodimg job %s attempt %s failed", job.pk, job.attempts)
        _reconnect_if_broken()
        _retry_or_fail(job, token, f"{type(exc).__name__}: {exc}")
    return ImageJob.objects.get(pk=job_id)


def _reconnect_if_broken() -> None:
    """Drop the database connection if the failure killed it (server restarted, backend terminated, network
    cut), so that recording the failure opens a fresh one instead of failing the same way and leaving the job
    to the reaper. A connection inside the caller's transaction is left alone: closing it would break that."""
    conn = transaction.get_connection(router.db_for_write(ImageJob))
    if conn.connection is None or conn.in_atomic_block:
        return
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseFault:
        log.warning("prodimg: the database connection broke during a job; reconnecting")
        conn.close()


# ---- leases: a running job belongs to the worker whose token it carries while its heartbeat is fresh ----------

def lease_cutoff(now=None):
    """A running job whose last heartbeat is older than this has lost its worker (JOB_LEASE_SECONDS)."""
    return (now or timezone.now()) - timedelta(seconds=prodimg_settings.JOB_LEASE_SECONDS)


def new_token() -> str:
    """The claim token of a worker process: "host:pid:random"."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_gone(job: ImageJob) -> bool:
    """Whether a running job's worker is gone: its lease lapsed, or it was a process on this machine that no
    longer exists (an inline backfill killed part-way), or this very process (which runs one job at a time)."""
    if job.heartbeat_at is None or job.heartbeat_at < lease_cutoff():
        return True
    host, _, rest = job.worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def job_state(job: ImageJob, now=None) -> str:
    """What an admin should read about a job now: its progress, a retry's time, or that its worker was lost and
    when the reaper (every minute) will hand it to another worker."""
    now = now or timezone.now()
    if job.status == ImageJob.Status.RUNNING and job.heartbeat_at and job.heartbeat_at < lease_cutoff(now):
        retry_at = timezone.localtime(now + timedelta(minutes=1)).strftime("%H:%M")
        if job.attempts >= job.max_attempts:
            return f"Worker lost (no heartbeat since {_clock(job.heartbeat_at)}); out of attempts, will be marked failed"
        return (f"Worker lost (no heartbeat since {_clock(job.heartbeat_at)}), will be retried at {retry_at} "
                f"(attempt {job.attempts + 1} of {job.max_attempts})")
    if job.status == ImageJob.Status.RUNNING:
        return f"Running {int(job.progress * 100)} %"
    if job.status == ImageJob.Status.QUEUED and job.not_before and job.not_before > now:
        return f"Retrying at {_clock(job.not_before)} (attempt {job.attempts + 1} of {job.max_attempts})"
    return job.get_status_display()


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _claim(job_id: int) -> str | None:
    """Take the job with a conditional UPDATE: queued and due, or running with a lapsed lease."""
    now = timezone.now()
    token = new_token()
    claimable = (Q(status=ImageJob.Status.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))) | Q(
        status=ImageJob.Status.RUNNING, heartbeat_at__lt=lease_cutoff(now)
    )
    won = ImageJob.objects.filter(claimable, pk=job_id, attempts__lt=F("max_attempts")).update(
        status=ImageJob.Status.RUNNING, attempts=F("attempts") + 1, worker=token, started_at=now, heartbeat_at=now,
        progress=0.0,
    )
    if won:
        return token
    _fail_exhausted(job_id)
    return None


def _fail_exhausted(job_id: int) -> None:
    """A job out of attempts whose last worker vanished ends failed rather than running forever."""
    ImageJob.objects.filter(
        Q(status=ImageJob.Status.QUEUED) | Q(status=ImageJob.Status.RUNNING, heartbeat_at__lt=lease_cutoff()),
        pk=job_id, attempts__gte=F("max_attempts"),
    ).update(status=ImageJob.Status.FAILED, finished_at=timezone.now(),
             error="The job's worker stopped responding on every attempt (killed or out of memory).")


def heartbeat(job: ImageJob, token: str, progress: float) -> None:
    """Record progress and renew the lease; raises if another worker has taken the job over."""
    ok = ImageJob.objects.filter(pk=job.pk, worker=token, status=ImageJob.Status.RUNNING).update(
        progress=max(0.0, min(progress, 0.99)), heartbeat_at=timezone.now()
    )
    if not ok:
        raise LostLease(f"job {job.pk} was taken over by another worker")


class LostLease(Exception):
    pass


def _produce(job: ImageJob, token: str) -> list[Result]:
    if job.source_id is None:
        raise BadSourceImage("the product image of this job has been deleted")
    try:
        source = get_image_model()._default_manager.get(pk=job.source_id)
    except OSError as exc:  # a host ImageField with width/height fields reads its file when loaded
        raise BadSourceImage(f"the file of product image {job.source_id} has vanished from storage ({exc})") from exc
    picture, alpha = split_alpha(job_source(source))  # checked, upright; a transparent photo on white
    attrs = attributes_of(source)
    handler = handler_for(job.kind)
    heartbeat(job, token, 0.05)
    results = handler(job, picture, attrs, lambda p: heartbeat(job, token, p))
    if not results:
        raise JobError("the model returned no images")
    if alpha is not None and job.kind in KEEPS_ALPHA:
        for result in results:
            result.image = put_alpha(result.image, alpha)
    return results


def handler_for(kind: str) -> Callable:
    """The job kind's handler: PRODIMG["JOB_HANDLERS"]'s when the settings replace it, else the registered one."""
    replaced = prodimg_settings.JOB_HANDLERS.get(kind)
    return import_string(replaced) if replaced else job_handlers.get(kind)


def _commit(job: ImageJob, token: str, results: list[Result]) -> None:
    """Store files and rows together with the job's success; delete the files if the rows don't commit."""
    written: list[GeneratedImage] = []
    delete_unreferenced_files(job)  # what an earlier, killed attempt wrote before it could commit
    try:
        with transaction.atomic():
            # The guarded UPDATE comes first: it locks the job's row (a worker claiming it after a lapsed lease
            # waits, then finds it succeeded) and on SQLite takes the write lock at once; a transaction that
            # read first could not be upgraded while another worker writes ("database is locked", no waiting).
            finished = ImageJob.objects.filter(pk=job.pk, worker=token, status=ImageJob.Status.RUNNING).update(
                status=ImageJob.Status.SUCCEEDED, progress=1.0, error="", finished_at=timezone.now()
            )
            if not finished:
                raise LostLease(f"job {job.pk} was taken over by another worker")
            done = set(GeneratedImage.objects.filter(job=job).values_list("slot", flat=True))
            for slot, result in enumerate(results):
                if slot not in done:
                    written.append(_store(job, slot, result))
    except (IntegrityError, LostLease):
        _delete_files(written)  # another worker committed this job first: its results stand
        return
    except Exception:
        _delete_files(written)
        raise
    job.refresh_from_db()
    images = list(GeneratedImage.objects.filter(job=job).order_by("slot"))
    signals.images_generated.send(sender=ImageJob, job=job, images=images)


def _store(job: ImageJob, slot: int, result: Result) -> GeneratedImage:
    generated = GeneratedImage(source_id=job.source_id, job=job, slot=slot, kind=RESULT_KIND[job.kind],
                               params=result.params, seed=result.seed, model_version=result.model_version,
                               **{k: v for k, v in result.confidence.items() if k in CONFIDENCE_FIELDS})
    # a string key may hold a slash or dots: the file is named by its safe characters
    content = as_content_file(result.image, get_valid_filename(f"{job.source_id}-{job.pk}-{slot}"))
    generated.image.save(content.name, content, save=False)
    try:
        _save_renditions(generated, result.renditions)
        generated.save()
    except Exception:
        _delete_files([generated])
        raise
    return generated


def _save_renditions(generated: GeneratedImage, renditions: dict[str, bytes]) -> None:
    """Store each rendition under RENDITIONS_UPLOAD_TO, recording its storage name on the (unsaved) row."""
    stem = os.path.splitext(os.path.basename(generated.image.name))[0]  # carries the file's random token
    folder = f"{prodimg_settings.RENDITIONS_UPLOAD_TO}{generated.kind}/{stem}/"
    generated.renditions = {}  # filled as files land, so a failure part-way deletes what was written
    for key, data in renditions.items():
        generated.renditions[key] = generated.image.storage.save(folder + key, ContentFile(data))


def _delete_files(generated: list[GeneratedImage]) -> None:
    for g in generated:
        for name in [g.image.name, *(g.renditions or {}).values()]:
            if not name:
                continue
            try:
                g.image.storage.delete(name)
            except OSError:
                log.warning("could not delete %s", name)


def delete_unreferenced_files(job: ImageJob) -> list[str]:
    """Delete files in the job's folder that no GeneratedImage row references; returns their names."""
    from prodimg_plugin.models import job_folder

    storage = GeneratedImage._meta.get_field("image").storage
    folder = job_folder(RESULT_KIND[job.kind], job.pk)
    try:
        _, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return []
    kept = set(GeneratedImage.objects.filter(job=job).values_list("image", flat=True))
    stale = [folder + f for f in files if folder + f not in kept]
    for name in stale:
        storage.delete(name)
    return stale


def _fail(job: ImageJob, token: str, message: str) -> None:
    ImageJob.objects.filter(pk=job.pk, worker=token).update(
        status=ImageJob.Status.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    job.refresh_from_db()
    signals.job_failed.send(sender=ImageJob, job=job, error=message)


def _retry_or_fail(job: ImageJob, token: str, message: str) -> None:
    job.refresh_from_db()
    if job.attempts >= job.max_attempts:
        _fail(job, token, f"Failed after {job.attempts} attempts. Last error: {message}")
        return
    delay = prodimg_settings.JOB_RETRY_BACKOFF_SECONDS * 2 ** (job.attempts - 1)
    ImageJob.objects.filter(pk=job.pk, worker=token).update(
        status=ImageJob.Status.QUEUED, not_before=timezone.now() + timedelta(seconds=delay),
        error=f"Attempt {job.attempts} failed, retrying in {delay} s: {message}"[:2000],
    )


# ---- reaping ------------------------------------------------------------------------------------------------

def reap(now=None) -> list[int]:
    """Enqueue again the jobs whose worker vanished, whose retry is due, or whose doorbell was lost."""
    now = now or timezone.now()
    due = ImageJob.objects.filter(
        Q(status=ImageJob.Status.RUNNING, heartbeat_at__lt=lease_cutoff(now))
        | Q(status=ImageJob.Status.QUEUED, not_before__isnull=False, not_before__lte=now)
    )
    ids = list(due.values_list("pk", flat=True)[:REAP_BATCH])
    ids += lost_doorbells(now, REAP_BATCH - len(ids))
    for pk in ids:
        ImageJob.objects.filter(pk=pk, status=ImageJob.Status.QUEUED).update(not_before=None)
        enqueue(pk)
    return ids


REAP_BATCH = 1000  # jobs enqueued again per run of the reaper (it runs every minute)


def lost_doorbells(now, limit: int) -> list[int]:
    """Queued jobs whose doorbell is older than JOB_QUEUE_STALE_SECONDS, as many as the broker has lost.

    A long backlog is not a lost doorbell: ringing every waiting job again on each run would add a duplicate
    message per job every JOB_QUEUE_STALE_SECONDS, and the workers would spend their time on claims that fail.
    So only the shortfall is rung (queued jobs minus messages waiting in the broker), oldest first; a broker that
    cannot tell (or is down) counts as empty. A job waiting for its retry's backoff has no doorbell to lose.
    """
    stale = now - timedelta(seconds=prodimg_settings.JOB_QUEUE_STALE_SECONDS)
    waiting = ImageJob.objects.filter(status=ImageJob.Status.QUEUED, not_before__isnull=True)
    old = waiting.filter(Q(enqueued_at__isnull=True, created_at__lt=stale) | Q(enqueued_at__lt=stale))
    if limit <= 0 or not old.exists():
        return []
    missing = min(waiting.count() - doorbells_waiting(), limit)
    oldest = old.order_by(F("enqueued_at").asc(nulls_first=True), "pk")
    return list(oldest.values_list("pk", flat=True)[:missing]) if missing > 0 else []


def doorbells_waiting() -> int:
    """Messages waiting in django-q2's queue (0 when jobs run inline, or when the broker cannot say)."""
    if prodimg_settings.RUN_JOBS_INLINE:
        return 0
    from django_q.brokers import get_broker

    try:
        return int(get_broker().queue_size() or 0)
    except Exception:  # the broker is down: count every doorbell as lost
        log.warning("prodimg: could not read the broker's queue size", exc_info=True)
        return 0
