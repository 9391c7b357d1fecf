"""django-q2 task functions: thin, they take ids and call a service."""
from .services import jobs


def run_image_job(job_id: int) -> str:
    job = jobs.run_job(job_id)
    return f"job {job_id}: {job.status if job else 'not claimable (done, running elsewhere or not due)'}"


def reap_jobs() -> str:
    ids = jobs.reap()
    return f"re-enqueued {len(ids)} jobs"
