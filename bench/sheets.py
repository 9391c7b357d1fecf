"""Contact sheets to look at results by eye: one row per photo (a caption, then its images side by side)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw


def save_sheets(rows: list[tuple[str, list[Image.Image]]], folder: Path, name: str, thumb=(180, 240),
                per_sheet: int = 5) -> list[Path]:
    """Sheets of `per_sheet` rows each, `name`_1.png, `name`_2.png, ... in `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, len(rows), per_sheet):
        path = folder / f"{name}_{start // per_sheet + 1}.png"
        sheet(rows[start: start + per_sheet], thumb).save(path, optimize=True)
        paths.append(path)
    return paths


def sheet(rows: list[tuple[str, list[Image.Image]]], thumb=(180, 240), caption: int = 14) -> Image.Image:
    """One sheet: each row's caption above its images (scaled to `thumb`)."""
    w, h = thumb
    cols = max(len(images) for _, images in rows)
    canvas = Image.new("RGB", (cols * w, len(rows) * (h + caption)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (text, images) in enumerate(rows):
        y = i * (h + caption)
        draw.text((2, y + 1), text, fill=(180, 0, 0))
        for j, image in enumerate(images):
            canvas.paste(image.convert("RGB").resize(thumb, Image.Resampling.LANCZOS), (j * w, y + caption))
    return canvas
