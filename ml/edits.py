"""Attribute edits of a product photo at its own resolution, from an exported CVAE checkpoint.

The CVAE works on a 64x48 thumbnail: encode it with the product's attributes (the posterior mean, so an edit
is deterministic), decode once with those attributes (low_before) and once with the target ones (low_after),
and hand the low-resolution change to `ml.guided.apply_lowres_change`, which applies it to the full-size
original. The model's reconstruction error is never transferred, only the difference the new attributes make,
so a null edit gives back the original.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .cvae import CVAE
from .cvae_train import load_cvae
from .guided import apply_lowres_change
from .images import fit, tensor_to_array, to_tensor
from .recolour import masked_recolour, unknown_colours
from .vocab import AttributeVocab, category_attribute, colour_attribute


class AttributeEditor:
    """Edits product images' attributes (e.g. colour) with a trained CVAE. Load once, edit many.

    strength scales the model's low-resolution change before it is applied (1: as decoded; above 1: a bolder
    edit, like a guidance scale; the bench measures what it costs in preservation).
    """

    def __init__(self, model: CVAE, vocab: AttributeVocab, device: str = "cpu", strength: float = 1.0):
        self.model, self._vocab, self.device = model.to(device).eval(), vocab, torch.device(device)
        self.strength = strength

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", expected_sha256: str | None = None,
                        strength: float = 1.0) -> "AttributeEditor":
        """Load an exported CVAE (`CVAETrainer.export`); refuses a file whose sha256 differs from the expected."""
        model, vocab = load_cvae(path, device, expected_sha256)
        return cls(model, vocab, device, strength)

    @property
    def vocab(self) -> AttributeVocab:
        return self._vocab

    def editable(self) -> dict[str, list[str]]:
        """Attribute -> the values an edit may target."""
        return {a: self._vocab.allowed(a) for a in self._vocab.attributes}

    def target_indices(self, attrs: dict, target: dict) -> tuple[list[int], list[int]]:
        """Source indices (unknown source values -> `<unk>`) and target indices (unknown -> error)."""
        source = self._vocab.encode(attrs)
        new = list(source)
        for attribute, value in target.items():
            index = self._vocab.index(attribute, value, strict=True)  # UnknownAttributeValue names the allowed
            new[self._vocab.attributes.index(attribute)] = index
        return source, new

    def _thumbnail(self, image: Image.Image) -> torch.Tensor:
        cfg = self.model.config
        return to_tensor(fit(image, cfg.height, cfg.width, cfg.channels))[None].to(self.device)  # (1, c, h, w)

    @torch.no_grad()
    def _latent(self, image: Image.Image, source: list[int], temperature: float, seed: int) -> torch.Tensor:
        mu, logvar = self.model.encode(self._thumbnail(image), torch.tensor([source], device=self.device))
        if temperature <= 0:
            return mu  # (1, z_dim)
        g = torch.Generator(device=self.device).manual_seed(seed)
        return mu + temperature * torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g, device=self.device)

    @torch.no_grad()
    def lowres(self, image: Image.Image, attrs: dict, targets: list[dict], temperature: float = 0.0, seed: int = 0):
        """The model's view: (low_before (h, w, c), [low_after (h, w, c) per target]), float arrays in [0, 1]."""
        pairs = [self.target_indices(attrs, t) for t in targets]
        source = pairs[0][0] if pairs else self._vocab.encode(attrs)
        z = self._latent(image, source, temperature, seed)
        idx = torch.tensor([source] + [t for _, t in pairs], device=self.device)  # (1 + n_targets, n_attr)
        decoded = self.model.decode(z.expand(len(idx), -1), idx)
        before = tensor_to_array(decoded[0])
        # a target equal to the source reuses low_before bit for bit: a null edit is exactly the original
        afters = [before if t == source else tensor_to_array(decoded[k + 1]) for k, (_, t) in enumerate(pairs)]
        return before, afters

    def edit(self, image: Image.Image, attrs: dict, target: dict, seed: int = 0, temperature: float = 0.0,
             masker=None, garment=None):
        """The product image with `target` attributes (e.g. {"colour": "Red"}), at the original's resolution.

        attrs: the product's current attributes. temperature 0 (default) uses the posterior mean and ignores
        seed; above 0, z is sampled around it with that seed. Raises UnknownAttributeValue for a target value
        the model was not trained on.
        """
        return self.edit_many(image, attrs, [target], seed, temperature, masker, garment)[0]

    def edit_many(self, image: Image.Image, attrs: dict, targets: list[dict], seed: int = 0,
                  temperature: float = 0.0, masker=None, garment=None) -> list[Image.Image]:
        """Several edits of one image, sharing one encoding and one batched decode.

        masker: an `ml.masker.ProductMasker`; when given, a colour-only edit is applied inside the product's mask in
        OKLab with the catalogue's look of the colour (the CVAE's rendition only for a colour the catalogue never
        showed: as a hint it did not help, issue 22 ablation), so skin, hair and the
        backdrop keep their colour; on a worn photo only the `garment`'s product (`ml.garment`). Edits of other
        attributes (category, pattern) still use guided upsampling.
        """
        before, afters = self.lowres(image, attrs, targets, temperature, seed)
        afters = [np.clip(before + self.strength * (after - before), 0.0, 1.0) for after in afters]
        colour = colour_attribute(self._vocab.attributes)
        out = []
        for target, after in zip(targets, afters):
            if masker is not None and colour and set(target) == {colour} and target[colour] != attrs.get(colour):
                drawn = unknown_colours(masker, [target[colour]], attrs.get(category_attribute(attrs) or ""))[0]
                out.append(masked_recolour(masker, image, attrs, colour, [target[colour]],
                                           [after] if drawn else None, garment)[0][0])
            else:
                out.append(apply_lowres_change(image, before, after))
        return out

    @torch.no_grad()
    def embed(self, image: Image.Image, attrs: dict) -> np.ndarray:
        """The posterior mean z (z_dim,) of an image: a compact image embedding for the recommender."""
        return self._latent(image, self._vocab.encode(attrs), 0.0, 0)[0].cpu().numpy()
