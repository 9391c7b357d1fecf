"""Variants handlers for the fault tests and benches: slow ones (heartbeating, so a worker can be killed or its
database connection cut mid-job) and one whose connection dies under it on the first attempt."""
import time

from prodimg_plugin.generation.variants import make_variants


def slow_variants(job, image, attrs, progress):
    """`slow_steps` (job param, default 10) pauses of 0.3 s, each followed by a heartbeat, then the real work."""
    steps = int(job.params.get("slow_steps", 10))
    for i in range(steps):
        time.sleep(0.3)
        progress(0.05 + 0.8 * i / steps)
    return make_variants(job, image, attrs, progress)


def connection_dies_once(job, image, attrs, progress):
    """On the first attempt the database connection dies mid-job (the DB-API connection is closed behind
    Django's back, as when the server restarts); the next heartbeat then fails as it would in production."""
    from django.db import connection

    if job.attempts == 1:
        connection.ensure_connection()
        connection.connection.close()
    progress(0.5)
    return make_variants(job, image, attrs, progress)
