"""Faults at length: many jobs, two qcluster workers, one of them SIGKILLed mid-job again and again (and
restarted), Redis restarted once; every job must end exactly once, with no duplicate and no orphan file.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_faults.py --jobs 200 --kill-every 8 --json /tmp/bench_faults.json

Stacks (see bench/queue_stack.py): PostgreSQL + Redis (a scratch database `prodimg_bench_faults` and a private
redis-server on a free port that keeps nothing on disk, so its restart loses every queued message) and the
embedded default (scratch SQLite + ORM broker; nothing to restart there). Jobs are variant jobs of the real
handler and a tiny GAN, slowed by tests.plugin.slow_handlers.slow_variants (heartbeating pauses) so that kills
land mid-job. The reaper runs every few seconds here (the schedule runs it every minute), with a short lease.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from queue_stack import GAN_NOTE, STACKS, outcome, prepare, report, run_stacks

LEASE = 4  # seconds: a killed worker's job is taken up again this long after its last heartbeat
STALE = 30  # seconds: a queued job's doorbell is rung again after this (lost with Redis, or with a killed worker)
PRODIMG = {"JOB_LEASE_SECONDS": LEASE, "JOB_QUEUE_STALE_SECONDS": STALE, "JOB_RETRY_BACKOFF_SECONDS": 1,
           "JOB_HANDLERS": {"variants": "tests.plugin.slow_handlers.slow_variants"}}
COLUMNS = [("stack", "stack"), ("jobs", "jobs"), ("kills", "SIGKILLs"), ("kills_mid_job", "of them mid-job"),
           ("redis_restarts", "Redis restarts"), ("succeeded", "succeeded"), ("failed", "failed"), ("lost", "lost"),
           ("duplicated", "duplicated"), ("orphans", "orphan files"), ("attempts", "attempts"), ("wall_s", "wall (s)")]


class Victim:
    """The worker that keeps being killed: SIGKILL while it runs a job, then a fresh one."""

    def __init__(self, start):
        self.start, self.proc, self.kills, self.mid_job = start, start(), 0, 0

    def busy(self) -> bool:
        from prodimg_plugin.models import ImageJob

        for token in ImageJob.objects.filter(status="running").values_list("worker", flat=True):
            pid = token.split(":")[1]
            try:
                if os.getpgid(int(pid)) == self.proc.pid:
                    return True
            except (ProcessLookupError, ValueError):
                continue
        return False

    def kill(self) -> None:
        from tests.plugin.processes import kill

        self.mid_job += self.busy()
        kill(self.proc)
        self.kills += 1
        self.proc = self.start()


def child(stack: str, jobs_n: int, slow_steps: int, kill_every: float, timeout: float) -> dict:
    from tests.plugin.processes import RedisServer

    work = Path(os.environ["BENCH_WORK"])
    redis = RedisServer(log=work / "redis.log").start() if stack == "postgres-redis" else None
    if redis:
        os.environ["REDIS_URL"] = redis.url()  # before Django and django-q2 read their settings
    try:
        images = prepare(jobs_n)
        row = drive(images, slow_steps, kill_every, timeout, redis)
        return {**row, "redis_restarts": redis.restarts if redis else 0}
    finally:
        if redis:
            redis.stop()


def drive(images, slow_steps: int, kill_every: float, timeout: float, redis) -> dict:
    from prodimg_plugin.models import ImageJob
    from prodimg_plugin.generation import jobs
    from prodimg_plugin.generation.variants import variant_params
    from tests.plugin.processes import start_qcluster, stop

    work, media = Path(os.environ["BENCH_WORK"]), os.environ["MEDIA_ROOT"]
    steady = start_qcluster(media, PRODIMG, log=work / "steady.log")
    victim = Victim(lambda: start_qcluster(media, PRODIMG, log=work / "victim.log"))
    started = time.time()
    ids = [j.pk for j in jobs.create_jobs(ImageJob.Kind.VARIANTS, images, {**variant_params(count=2),
                                                                          "slow_steps": slow_steps})]
    unfinished = ImageJob.objects.filter(pk__in=ids, status__in=["queued", "running"])
    next_kill, next_reap = time.time() + kill_every, time.time() + 3
    try:
        while unfinished.exists() and time.time() - started < timeout:
            time.sleep(0.5)
            if redis and not redis.restarts and unfinished.count() < len(ids) * 2 / 3:
                redis.restart()  # a third of the way: the queued doorbells are lost
            if time.time() >= next_kill and (victim.busy() or time.time() >= next_kill + kill_every):
                victim.kill()
                next_kill = time.time() + kill_every
            if time.time() >= next_reap:
                jobs.reap()
                next_reap = time.time() + 3
    finally:
        stop(steady)
        stop(victim.proc)
    return {**outcome(ids, 2), "kills": victim.kills, "kills_mid_job": victim.mid_job,
            "wall_s": round(time.time() - started)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--slow-steps", type=int, default=3, help="0.3 s heartbeating pauses per job")
    parser.add_argument("--kill-every", type=float, default=8, help="seconds between SIGKILLs of the victim worker")
    parser.add_argument("--stacks", nargs="+", choices=STACKS, default=list(STACKS))
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the jobs of one stack")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.environ["PRODIMG_SETTINGS_JSON"] = json.dumps(PRODIMG)  # the reaper here uses the workers' lease
        print(json.dumps(child(args.child, args.jobs, args.slow_steps, args.kill_every, args.timeout)))
        return
    rows = run_stacks(__file__, "prodimg_bench_faults", args.stacks, [
        "--jobs", str(args.jobs), "--slow-steps", str(args.slow_steps), "--kill-every", str(args.kill_every),
        "--timeout", str(args.timeout)])
    report(rows, COLUMNS, f"Model: {GAN_NOTE}, 2 variants per job, slowed by {args.slow_steps} x 0.3 s heartbeating "
           f"pauses. One steady worker, one SIGKILLed every ~{args.kill_every:g} s (when mid-job) and restarted.",
           args.json, args=vars(args))


if __name__ == "__main__":
    main()
