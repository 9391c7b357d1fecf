"""The variants shoppers' taste proposes (the personalisation report's list), and with --queue, queue them all."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from prodimg_plugin.evaluation import taste


class Command(BaseCommand):
    help = ("List the colour variants a segment of shoppers prefers and a product lacks, with the evidence; "
            "--queue queues them as variants jobs (pending review, as the admin's 'Generate variants' does).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, help="only decisions of the last N days")
        parser.add_argument("--queue", action="store_true", help="queue every proposal as a variants job")
        parser.add_argument("--user", help="username the jobs are queued for (their rate limit applies)")

    def handle(self, *args, days=None, queue=False, user=None, **options):
        found = taste.find_proposals(days)
        self.stdout.write(f"{found.decisions} logged decisions; {len(found.tested)} segment x colour pairs tested; "
                          f"{len(found.tastes)} taste(s) pass the rule.")
        for p in found.proposals:
            t = p.taste
            name = found.names.get(p.product, p.product)[:30]
            self.stdout.write(f"{name:<30} make {p.value:<14} for {t.segment:<20} lift x{t.lift:.2f} "
                              f"[{t.low:.2f}, {t.high:.2f}]  {t.clicks} of {t.impressions} vs "
                              f"{t.clicks_other} of {t.impressions_other}")
        if not found.proposals:
            self.stdout.write("Nothing to propose: the evidence does not support a colour a product lacks.")
            return
        if queue:
            result = taste.queue(found.proposals, self._user(user))
            for line in result.skipped:
                self.stdout.write(self.style.WARNING(line))
            self.stdout.write(self.style.SUCCESS(f"Queued {len(result.jobs)} variants job(s): "
                                                 f"{', '.join(f'#{j.pk}' for j in result.jobs) or 'none'}."))

    @staticmethod
    def _user(username: str | None):
        if not username:
            return None
        try:
            return get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
