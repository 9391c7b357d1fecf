"""Run the demo shop's web server and its `qcluster` worker together, and stop them together, cleanly.

    python shop_demo/run_demo.py [--port 8000] [--grace 20]      (what `make demo` and `make serve` run)

Ctrl-C, SIGTERM (e.g. to `make`, which passes it on) or SIGHUP stops both, and so does either one exiting. Each
runs in its own process group, so a Ctrl-C at the terminal reaches only this launcher, which then stops them in
the order and way each stops cleanly: SIGTERM to the worker's main process only (django-q2 then stops its
pusher, workers and monitor itself; a signal to each of them at once leaves tracebacks and a cluster waiting
forever for its dead sentinel), SIGTERM to the web server. Whatever is still running after `--grace` seconds (a
worker busy with a job; its job is taken up again once its lease lapses) is killed with its whole process group,
and the launcher returns only when every process it started is gone.

Only the standard library: the launcher itself never loads Django.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Launcher:
    def __init__(self, port: int, grace: float):
        self.port, self.grace = port, grace
        self.procs: dict[str, subprocess.Popen] = {}
        self.stop_signal: int | None = None
        self.stopping = False

    def on_signal(self, signum, frame) -> None:
        if self.stop_signal is not None and self.stopping:  # asked twice: no more waiting
            for proc in self.procs.values():
                kill_group(proc.pid)
        self.stop_signal = self.stop_signal or signum

    def start(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.on_signal)
        commands = {"worker": ["qcluster"], "web": ["runserver", f"127.0.0.1:{self.port}", "--noreload"]}
        for name, args in commands.items():
            if self.stop_signal:
                break
            # a session (and process group) of its own: the terminal's Ctrl-C goes to the launcher alone
            self.procs[name] = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, start_new_session=True)

    def wait(self) -> int:
        """Until a stop signal, or one of the two exits; returns the launcher's exit status."""
        while self.stop_signal is None:
            exited = [(n, p.returncode) for n, p in self.procs.items() if p.poll() is not None]
            if exited:
                name, code = exited[0]
                print(f"run_demo: the {name} exited ({code}); stopping the rest", file=sys.stderr, flush=True)
                return code or 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        self.stopping = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the group leader only: qcluster stops its own processes
        deadline = time.monotonic() + self.grace
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"run_demo: the {name} did not stop within {self.grace:g} s; killing it (a job it was running "
                      "is retried when its lease lapses)", file=sys.stderr, flush=True)
        for proc in self.procs.values():  # leftovers: a leader that timed out, children of one that died
            kill_group(proc.pid)
            proc.wait()
        for proc in self.procs.values():
            wait_group_gone(proc.pid)

    def run(self) -> int:
        self.start()
        try:
            code = self.wait()
        finally:
            self.stop()
        return code


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Until no process of the group is left (killed ones are reaped by their parent, or by init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--grace", type=float, default=20.0, help="seconds to wait for a clean stop before killing")
    opts = parser.parse_args(argv)
    return Launcher(opts.port, opts.grace).run()


if __name__ == "__main__":
    sys.exit(main())
