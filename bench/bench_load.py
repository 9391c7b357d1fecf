"""Load: 1,000 variant jobs through two separate `manage.py qcluster` processes, on each stack.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_load.py --jobs 1000 --json /tmp/bench_load.json

Stacks (see bench/queue_stack.py): PostgreSQL + Redis (a scratch database `prodimg_bench_load`, Redis db 11 on
127.0.0.1:6379, both removed afterwards) and the embedded default (a scratch SQLite file + django-q2's ORM
broker). Jobs are real variant jobs (the real handler and a real, tiny GAN, one variant of a small photo each),
so what is measured is the queue: claim, heartbeat, storage, commit, broker and django-q2's own bookkeeping.

Two workers are started and warmed (a few jobs each) before the measured jobs are enqueued in one burst, so
the enqueue->done latency includes the wait in the backlog (p50 is about half the run); the claim->done
figure is the time a job spends on a worker.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from queue_stack import GAN_NOTE, STACKS, outcome, percentile, prepare, report, run_stacks

COLUMNS = [("stack", "stack"), ("jobs", "jobs"), ("enqueued", "enqueued"), ("succeeded", "succeeded"),
           ("failed", "failed"), ("lost", "lost"), ("duplicated", "duplicated"), ("orphans", "orphan files"),
           ("jobs_per_s", "jobs/s"), ("latency_p50_s", "enqueue→done p50 (s)"),
           ("latency_p95_s", "enqueue→done p95 (s)"), ("service_p50_s", "claim→done p50 (s)"),
           ("enqueue_s", "enqueue all (s)"), ("wall_s", "wall (s)")]


def child(jobs_n: int, timeout: float) -> dict:
    """In a child process on one stack: prepare, start two workers, run the burst, count."""
    images = prepare(jobs_n + 4)
    from prodimg_plugin.models import ImageJob
    from prodimg_plugin.generation import jobs
    from prodimg_plugin.generation.variants import variant_params
    from tests.plugin.processes import start_qcluster, stop, wait_for

    work = Path(os.environ["BENCH_WORK"])
    params = variant_params(count=1)
    workers = [start_qcluster(os.environ["MEDIA_ROOT"], log=work / f"worker{i}.log") for i in range(2)]
    try:
        warm = [j.pk for j in jobs.create_jobs(ImageJob.Kind.VARIANTS, images[:4], params)]
        if not wait_for(lambda: ImageJob.objects.filter(pk__in=warm, status="succeeded").count() == 4, 300):
            raise SystemExit("the workers did not start: see " + str(work))
        started = time.time()
        ids = [j.pk for j in jobs.create_jobs(ImageJob.Kind.VARIANTS, images[4:], params)]
        enqueued = time.time()
        wait_for(lambda: not ImageJob.objects.filter(pk__in=ids, status__in=["queued", "running"]).exists(), timeout)
        wall = time.time() - started
    finally:
        for w in workers:
            stop(w)
    return {**outcome(ids, 1), **timings(ids, started), "enqueue_s": round(enqueued - started, 1),
            "wall_s": round(wall, 1)}


def timings(ids: list[int], started: float) -> dict:
    from prodimg_plugin.models import ImageJob

    rows = list(ImageJob.objects.filter(pk__in=ids, status="succeeded").values_list(
        "enqueued_at", "started_at", "finished_at"))
    latency = [(done - enq).total_seconds() for enq, _, done in rows]
    service = [(done - start).total_seconds() for _, start, done in rows]
    last = max((done.timestamp() for *_, done in rows), default=started)
    return {"enqueued": ImageJob.objects.filter(pk__in=ids, enqueued_at__isnull=False).count(),
            "jobs_per_s": round(len(rows) / max(last - started, 1e-9), 2),
            "latency_p50_s": round(percentile(latency, 50), 1), "latency_p95_s": round(percentile(latency, 95), 1),
            "service_p50_s": round(percentile(service, 50), 3), "service_p95_s": round(percentile(service, 95), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--stacks", nargs="+", choices=STACKS, default=list(STACKS))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the jobs of one stack")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="a Redis db this bench may flush")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.jobs, args.timeout)))
        return
    rows = run_stacks(__file__, "prodimg_bench_load", args.stacks,
                      ["--jobs", str(args.jobs), "--timeout", str(args.timeout)], args.redis_url)
    report(rows, COLUMNS, f"Model: {GAN_NOTE}, 1 variant per job. Two `manage.py qcluster` processes, Q_WORKERS=1 "
           "each, OMP_NUM_THREADS=1.", args.json, jobs=args.jobs)


if __name__ == "__main__":
    main()
