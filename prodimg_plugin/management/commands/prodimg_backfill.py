"""Run one kind of work over the whole catalogue: resumable, streamed in batches, with a progress bar."""
from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from prodimg_plugin.generation.colour_targets import TargetError, parse_line
from prodimg_plugin.upkeep import backfill


class Command(BaseCommand):
    help = ("Backfill the catalogue: variants, edits (--target attr=value), enhance, quality or embeddings. "
            "Kill it and run it again: it carries on where it stopped, without duplicates.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=backfill.KINDS)
        parser.add_argument("--missing-only", action="store_true",
                            help="skip images that already have a result of this kind from anywhere")
        parser.add_argument("--since", help="only images whose file was written on or after this date (YYYY-MM-DD)")
        parser.add_argument("--limit", type=int, help="process at most this many images (skipped ones don't count)")
        parser.add_argument("--batch-size", type=int, default=200, help="images read per database query")
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--inline", action="store_true", help="run the jobs in this process (the default)")
        where.add_argument("--queue", action="store_true", help="queue the jobs for the qcluster workers")
        parser.add_argument("--dry-run", action="store_true", help="count what would be done; change nothing")
        parser.add_argument("--target", action="append", default=[], metavar="ATTR=VALUE",
                            help="edits: the attribute to change, e.g. --target colour=red (repeatable)")
        parser.add_argument("--colour-target", action="append", default=[], metavar="TARGET",
                            help='variants: an exact colour, one colourway each (up to 4): "#1F3A5F", a colour name '
                                 'or "swatch <image id> x,y,w,h", optionally followed by "on 0,2" (colour parts)')

    def handle(self, *args, **o):
        opts = backfill.BackfillOptions(
            kind=o["kind"], missing_only=o["missing_only"], since=_since(o["since"]), limit=o["limit"],
            batch_size=o["batch_size"], inline=not o["queue"], dry_run=o["dry_run"], target=_target(o["target"]),
            colour_targets=_colour_targets(o["colour_target"]))
        total = backfill.catalogue().count()
        bar = tqdm(total=total, unit="image", file=self.stderr._out, disable=o["verbosity"] == 0, dynamic_ncols=True)
        try:
            summary = backfill.backfill(opts, progress=bar.update)
        except backfill.BackfillError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self._report(summary)

    def _report(self, s: backfill.Summary) -> None:
        if s.unsupported:
            self.stdout.write(self.style.WARNING(f"Unsupported: {s.unsupported}"))
            return
        done = "would process" if s.dry_run else "queued" if s.queued else "done"
        self.stdout.write(self.style.SUCCESS(f"{s.kind}: {done} {s.done}, skipped {s.skipped}, failed {s.failed}"))
        for reason, count in s.skip_reasons.most_common():
            self.stdout.write(f"  skipped {count}: {reason}")
        for image_id, reason in s.failures:
            self.stdout.write(self.style.ERROR(f"  failed: image {image_id}: {reason}"))
        if s.failed > len(s.failures):
            self.stdout.write(f"  ... and {s.failed - len(s.failures)} more failures (see the log)")


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_datetime(text) or (datetime.combine(parse_date(text), time.min) if parse_date(text) else None)
    except ValueError:  # well formed but impossible, e.g. 2024-13-01
        moment = None
    if moment is None:
        raise CommandError(f"--since must be a date (YYYY-MM-DD) or a date and time, not {text!r}")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _target(pairs: list[str]) -> dict[str, str]:
    target = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CommandError(f"--target must look like attribute=value, not {pair!r}")
        target[name.strip()] = value.strip()
    return target


def _colour_targets(lines: list[str]) -> list[dict]:
    try:
        return [parse_line(line) for line in lines]
    except TargetError as exc:
        raise CommandError(f"--colour-target {exc}") from None
