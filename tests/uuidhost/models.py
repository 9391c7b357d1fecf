"""The test shop's catalogue: items and their pictures, keyed by UUIDs (or strings, see `keys`), and with field
names of their own (`item`, `picture`)."""
from __future__ import annotations

from django.db import models

from .keys import key_field


class Item(models.Model):
    id = key_field()
    title = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, default="tee")
    colour = models.CharField(max_length=30, default="red")

    def __str__(self) -> str:
        return self.title


class Picture(models.Model):
    id = key_field()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="pictures")
    picture = models.ImageField(upload_to="pictures/")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.item} #{self.order}"
