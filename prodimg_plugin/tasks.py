"""django-q2 task functions: thin, they take ids and call a service."""
from prodimg_plugin.generation import jobs
from prodimg_plugin.storefront import learning
from prodimg_plugin.upkeep import purge


def run_image_job(job_id: int) -> str:
    job = jobs.run_job(job_id)
    return f"job {job_id}: {job.status if job else 'not claimable (done, running elsewhere or not due)'}"


def reap_jobs() -> str:
    ids = jobs.reap()
    return f"re-enqueued {len(ids)} jobs"


def purge_anonymous_events() -> str:
    """Anonymous shoppers' events past ANONYMOUS_EVENTS_RETENTION_DAYS (scheduled daily)."""
    return f"deleted {purge.purge_anonymous_events()} anonymous shopper events"


def decay_recommender() -> str:
    """Forget learned preferences by the time since the last decay (HALF_LIFE_DAYS; scheduled hourly)."""
    return f"decayed over {learning.decay():.0f} s"


def train_model(argv: list[str]) -> str:
    """`prodimg_train` queued with --queue, run by the long-work cluster."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("prodimg_train", *argv, stdout=out, verbosity=0)
    return out.getvalue()[-2000:]
