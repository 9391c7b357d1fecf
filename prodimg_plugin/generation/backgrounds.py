"""The backgrounds an enhance job can put a cut-out product on: the one table the admin form, the API's help and
the error messages read, and the one check of a requested value."""
from __future__ import annotations

import re

KEEP = "keep"  # the `background` param's default: the enhance steps decide the backdrop, no cut-out
COLOUR = "#rrggbb"  # any colour, written as #rrggbb
BACKGROUNDS = {  # value -> what it gives (the admin form's labels)
    KEEP: "The photo's own backdrop, cleaned (no cut-out)",
    "transparent": "Transparent (PNG / WebP with alpha)",
    "white": "White",
    "shadow": "White with a soft contact shadow",
    COLOUR: "A colour",
}
_HEX = re.compile(r"#?([0-9a-f]{6})")


def choices_text() -> str:
    """The choices as an error message or help text lists them: "keep, transparent, white, shadow or a colour like #f4f4f4"."""
    names = [name if name != COLOUR else "a colour like #f4f4f4" for name in BACKGROUNDS]
    return ", ".join(names[:-1]) + " or " + names[-1]


def background_param(value=KEEP) -> str:
    """The enhance job's `background`, normalised: "keep", "transparent", "white", "shadow" or "#rrggbb".

    The one check of the value, used by the admin form, the API and the job. Raises ValueError naming the
    choices for anything else.
    """
    text = str(KEEP if value is None else value).strip().lower()
    if text == "":
        return KEEP
    if text in BACKGROUNDS and text != COLOUR:
        return text
    match = _HEX.fullmatch(text)
    if match:
        return "#" + match.group(1)
    raise ValueError(f"Unknown background {str(value)[:40]!r}: choose {choices_text()}.")
