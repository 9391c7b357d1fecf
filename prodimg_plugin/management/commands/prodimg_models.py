"""List model versions, install the bundled default weights, activate a version (roll out / roll back)."""
from django.core.management.base import BaseCommand, CommandError

from prodimg_plugin import weights
from prodimg_plugin.kinds import model_kinds
from prodimg_plugin.models import ModelVersion


class Command(BaseCommand):
    help = "List prodimg model versions; --install-bundled registers shipped default weights; --activate ID."

    def add_arguments(self, parser):
        parser.add_argument("--install-bundled", action="store_true",
                            help="register the bundled weights of every kind that has no active version")
        parser.add_argument("--activate", type=int, metavar="ID", help="make this version the active one of its kind")

    def handle(self, *args, **o):
        if o["install_bundled"]:
            for kind in model_kinds.names():
                if not ModelVersion.objects.filter(kind=kind, active=True).exists():
                    version = weights.register_bundled(kind)
                    if version:
                        self.stdout.write(f"Installed bundled {kind} weights as {version}.")
        if o["activate"]:
            try:
                version = ModelVersion.objects.get(pk=o["activate"])
            except ModelVersion.DoesNotExist:
                raise CommandError(f"no model version {o['activate']}") from None
            weights.activate(version)
            self.stdout.write(f"{version} is now active.")
        for v in ModelVersion.objects.order_by("kind", "-created_at"):
            self.stdout.write(f"{v.pk:>4}  {v.kind:<10} {'active' if v.active else '      '}  {v.sha256[:12]}  {v.name}")
