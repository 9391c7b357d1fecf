"""Exact colour targets of a colourway: a hex colour, a swatch of another photo, or a catalogue colour name, each
on the product's main colour or on chosen colour parts. Here: what a target looks like, and the one reading of the
admin's and the command's one-line spelling of it; the one check of targets is `params.check_targets` (used by the
admin form, the API and the backfill command through `params.variant_params`).

A target, as the API takes it and a job stores it:

    {"colour": "#1F3A5F"}                                   a hex colour (#rrggbb)
    {"colour": "Navy Blue"}                                  the catalogue's look of a colour (the mask's palette)
    {"swatch": {"image": 12, "box": [10, 20, 30, 30]}, "parts": [0, 2]}   the colour of a rectangle x, y, w, h of
                                                             product image 12, on the product's parts 0 and 2

Checked, each becomes {"colour": "#rrggbb", "asked": what was asked, "parts": [...]} (plus "swatch"): a swatch's
colour is read when the job is queued, so the job does not depend on the swatch photo later.
"""
from __future__ import annotations

import re


LINE = re.compile(r"^(?:swatch\s+(?P<image>\S+)\s+(?P<box>[^a-z]+?)|(?P<colour>.+?))(?:\s+on\s+(?P<parts>[\d,\s]+))?$",
                  re.IGNORECASE)


class TargetError(ValueError):
    """A target that cannot be used; the message says which one and why."""


def parse_line(text: str) -> dict:
    """One target as the admin form and `prodimg_backfill --colour-target` spell it: "#1F3A5F", "Navy Blue",
    "swatch 12 10,20,30,30", each optionally followed by "on 0,2" (the parts). TargetError if it is none of these."""
    match = LINE.match(text.strip())
    if not match or (not match["image"] and match["colour"].lower().split()[:1] == ["swatch"]):
        raise TargetError(f"{text.strip()[:60]!r}: write a colour (#1f3a5f or a colour name) or "
                          f"swatch <image id> x,y,w,h, optionally followed by on <part>,<part>")
    target = ({"swatch": {"image": match["image"], "box": [p for p in re.split(r"[,\s]+", match["box"].strip()) if p]}}
              if match["image"] else {"colour": match["colour"].strip()})
    if match["parts"]:
        target["parts"] = [int(p) for p in re.split(r"[,\s]+", match["parts"].strip()) if p]
    return target


def parse_lines(text: str) -> list[dict]:
    """Targets, one per non-empty line; TargetError naming the line of the first bad one."""
    out = []
    for n, line in enumerate([ln for ln in str(text or "").splitlines() if ln.strip()], start=1):
        try:
            out.append(parse_line(line))
        except TargetError as exc:
            raise TargetError(f"line {n}: {exc}") from None
    return out
