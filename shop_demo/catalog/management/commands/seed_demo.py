"""``manage.py seed_demo``: fill the demo shop with a deterministic, procedurally photographed catalogue."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from shop_demo.catalog.seeding import flush_catalogue, plan_catalogue, seed_catalogue

ADMIN_USERNAME = ADMIN_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create the demo catalogue (products with photos) and an admin/admin superuser. Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="catalogue seed: same seed, same shop (default 0)")
        parser.add_argument("--products", type=int, default=160, help="how many products (default 160)")
        parser.add_argument("--flush", action="store_true", help="delete every product and photo first")

    def handle(self, *args, seed: int, products: int, flush: bool, **options) -> None:
        if flush:
            self.stdout.write(f"Deleted {flush_catalogue()} products and their photos.")
        plans = plan_catalogue(seed=seed, count=products)
        created, skipped = seed_catalogue(plans, progress=self._progress if options["verbosity"] > 1 else None)
        self.stdout.write(self.style.SUCCESS(f"Created {created} products ({skipped} already there)."))
        self._ensure_admin()

    def _progress(self, done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            self.stdout.write(f"  {done}/{total}")

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
            self.stdout.write("Created superuser.")
        self.stdout.write(f"Admin login: /admin/  user: {ADMIN_USERNAME}  password: {ADMIN_PASSWORD}")
