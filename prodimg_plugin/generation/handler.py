"""What a job handler is: `handler(job, image, attributes, progress) -> list[Result]`, registered per job kind in
`prodimg_plugin.kinds.job_handlers`.

`image` is the source photo as `images.job_source` checked it: a PIL image, EXIF-upright, 8-bit RGB; a photo with
transparency comes composited on white (what the models were trained on), and the runner puts its alpha back on
the results of variant and edit jobs (`jobs.KEEPS_ALPHA`). `attributes` is the attributes hook's answer for it,
`progress(share)` records progress and renews the job's lease. A handler returns one `Result` per image it made;
the job runner stores them all, or none. It raises `JobError` for a failure that retrying cannot fix (the message
reaches the admin as it is); any other exception is retried with backoff.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from prodimg_plugin.models import ModelVersion


class JobError(Exception):
    """A failure that retrying cannot fix; its message is shown to the admin as it is."""


# the GeneratedImage fields a Result's `confidence` may set (generation.confidence measures them)
CONFIDENCE_FIELDS = ("confidence", "mask_changed", "delta_e_outside", "delta_e_outside_median", "needs_look",
                     "review_notes", "delta_e_target")


@dataclass
class Result:
    """One image a handler made, before it is stored."""

    image: object  # PIL.Image
    params: dict = field(default_factory=dict)
    seed: int = 0
    model_version: ModelVersion | None = None
    renditions: dict[str, bytes] = field(default_factory=dict)  # "600x800.webp" -> encoded file, stored alongside
    confidence: dict = field(default_factory=dict)  # CONFIDENCE_FIELDS -> value, from generation.confidence
