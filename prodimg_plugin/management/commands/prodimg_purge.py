"""Remove files prodimg no longer needs: orphaned files, rejected images, renditions no longer configured."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from prodimg_plugin.upkeep import purge


class Command(BaseCommand):
    help = ("Remove orphaned files under prodimg's upload folders, rejected generated images (files and rows), "
            "renditions no longer configured and anonymous shoppers' events past "
            "PRODIMG['ANONYMOUS_EVENTS_RETENTION_DAYS']. --dry-run lists them and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        plan = purge.purge(dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        for name in plan.orphaned:
            self.stdout.write(f"orphaned: {name}")
        for pk, names in plan.rejected:
            self.stdout.write(f"rejected #{pk}: {', '.join(names)}")
        for pk, key, name in plan.old_renditions:
            self.stdout.write(f"old rendition #{pk} {key}: {name}")
        self.stdout.write(self.style.SUCCESS(
            f"{verb} {len(plan.orphaned)} orphaned file(s), {len(plan.rejected)} rejected image(s) and "
            f"{len(plan.old_renditions)} old rendition(s): {len(plan.files())} file(s); "
            f"{plan.anonymous_events} anonymous shopper event(s) past the retention period."))
        if plan.young:
            self.stdout.write(f"Kept {plan.young} unreferenced file(s) younger than the grace period "
                              "(PRODIMG['PURGE_GRACE_SECONDS']): a job may still be committing them.")
