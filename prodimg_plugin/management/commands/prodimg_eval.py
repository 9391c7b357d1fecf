"""Evaluate prodimg offline: `prodimg_eval recommender` (more kinds register in services.evaluation)."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from prodimg_plugin.evaluation.base import EVALUATIONS, EvaluationError


class Command(BaseCommand):
    help = "Evaluate a prodimg model or policy offline and print a table (or --json). Kinds: " + ", ".join(
        sorted(EVALUATIONS))

    def add_arguments(self, parser):
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{" + ",".join(sorted(EVALUATIONS)) + "}")
        for kind, evaluation in sorted(EVALUATIONS.items()):
            sub = kinds.add_parser(kind, help=evaluation.help, description=evaluation.help)
            if evaluation.add_arguments:
                evaluation.add_arguments(sub)
            sub.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")

    def handle(self, *args, **options):
        evaluation = EVALUATIONS[options["kind"]]
        try:
            report = evaluation.run(options)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else evaluation.format(report))
