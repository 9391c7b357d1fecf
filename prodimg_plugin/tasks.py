"""django-q2 task functions: thin, they take ids and call a service."""
from prodimg_plugin.generation import jobs


def run_image_job(job_id: int) -> str:
    job = jobs.run_job(job_id)
    return f"job {job_id}: {job.status if job else 'not claimable (done, running elsewhere or not due)'}"


def reap_jobs() -> str:
    ids = jobs.reap()
    return f"re-enqueued {len(ids)} jobs"


def train_model(argv: list[str]) -> str:
    """`prodimg_train` queued with --queue, run by the long-work cluster."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("prodimg_train", *argv, stdout=out, verbosity=0)
    return out.getvalue()[-2000:]
