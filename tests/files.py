"""Files a test left in its filesystem storages (no Django imports: the benches use it too)."""
from pathlib import Path


def stored_files(media_root, folder: str = "prodimg") -> dict:
    """Storage name -> path of every file under `folder` in the filesystem storages of a test: MEDIA_ROOT (public)
    and the private folder beside it where unpublished generated images live (prodimg_plugin.storage)."""
    found = {}
    for root in (Path(media_root), Path(f"{media_root}-prodimg-private")):
        base = root / folder
        if base.exists():
            found.update({str(p.relative_to(root)): p for p in base.rglob("*") if p.is_file()})
    return found
