"""Evaluate prodimg offline: `prodimg_eval {gan,cvae,recommender}` (the evaluations registered in prodimg_plugin.kinds)."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from prodimg_plugin.evaluation.base import EvaluationError
from prodimg_plugin.kinds import evaluations


class Command(BaseCommand):
    help = "Evaluate a prodimg model or policy offline and print a table (or --json)."

    def add_arguments(self, parser):
        names = evaluations.names()
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{" + ",".join(names) + "}")
        for name in names:
            evaluation = evaluations.get(name)
            sub = kinds.add_parser(name, help=evaluation.help, description=evaluation.help)
            if evaluation.add_arguments:
                evaluation.add_arguments(sub)
            sub.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")

    def handle(self, *args, **options):
        evaluation = evaluations.get(options["kind"])
        try:
            report = evaluation.run(options)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else evaluation.format(report))
