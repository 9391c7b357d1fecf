"""Product variants from a trained conditional GAN: colourways, design variations and plain samples.

A product photo is first *inverted*: the encoder guesses the latent z that makes the generator draw it, and a
few Adam steps on ||G(z, c) - x|| refine the guess. Then:

- colourways keep z and change the colour condition; the change G(z, c_src) -> G(z, c_target) is transferred
  onto the original photo with guided upsampling (`ml.guided`), so they come out at the ORIGINAL's full
  resolution with its edges, texture and text intact; the original's backdrop (what matches its border
  colour) is kept as it was, which removes the colour halo the generator's soft edges would leave;
- design variations move z around the inverted latent; their shape differs from the original, so no guided
  transfer applies: they are the model's LOW-RESOLUTION drawing (e.g. 48x64) upscaled to the original's size,
  and look soft. `params["delivery"]` says which of the two a variant is.

Same inputs and seed give the same variants (all randomness comes from a seeded torch.Generator).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .gan import Encoder, GANConfig, Generator, truncated_z
from .gan_train import SAMPLER_KIND
from .guided import apply_lowres_change, apply_lowres_chroma_change
from .images import fit, pad_to_aspect, tensor_to_array, tensor_to_pil, to_rgb, to_tensor
from .recolour import masked_recolour, unknown_colours
from .vocab import AttributeVocab, UnknownAttributeValue, category_attribute, spelling_key
from .vocab import colour_attribute as colour_attribute_of


@dataclass
class Variant:
    """One generated image, with what made it (mode, colour, strength, ...) and the seed that reproduces it."""

    image: Image.Image
    params: dict = field(default_factory=dict)
    seed: int = 0


MASKED_INVERSION_STEPS = 10  # colourways through the product mask to a colour the catalogue never showed: the
# GAN's rendition only gives the colour's look (its mean colour), which 10 steps of inversion give as well as 30


class VariantGenerator:
    """Wraps an exported GAN checkpoint (EMA generator + encoder); load once per worker, call many times."""

    def __init__(self, G: Generator, E: Encoder, vocab: AttributeVocab, device: str = "cpu",
                 colour_attribute: str | None = None):
        self.device = torch.device(device)
        self.G = G.to(self.device).eval().requires_grad_(False)
        self.E = E.to(self.device).eval().requires_grad_(False)
        self._vocab = vocab
        self.colour_attribute = colour_attribute or colour_attribute_of(vocab.attributes)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, device: str = "cpu", expected_sha256: str | None = None,
                        colour_attribute: str | None = None) -> "VariantGenerator":
        """Load an `GANTrainer.export` file; raises ml.checkpoint.CheckpointError if it is not a valid one."""
        tensors, meta = checkpoint.load(path, expected_sha256)
        if meta.get("kind") != SAMPLER_KIND:
            raise checkpoint.CheckpointError(f"{path} is not a GAN sampling checkpoint (kind {meta.get('kind')!r})")
        try:
            config, vocab = GANConfig(**meta["config"]), AttributeVocab.from_dict(meta["vocab"])
            G, E = Generator(config), Encoder(config)
            checkpoint.load_prefixed(G, "G", tensors)
            checkpoint.load_prefixed(E, "E", tensors)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise checkpoint.CheckpointError(f"{path} does not match its recorded config: {exc}") from exc
        return cls(G, E, vocab, device, colour_attribute)

    @property
    def vocab(self) -> AttributeVocab:
        return self._vocab

    @property
    def config(self) -> GANConfig:
        return self.G.config

    # --- helpers ---------------------------------------------------------------------------------------

    def condition(self, attrs: dict) -> torch.Tensor:
        """Attribute dict -> (1, n_attr) indices, values matched loosely ("navy-blue" finds "Navy Blue");
        unknown or missing values become `<unk>`."""
        spelled = {a: self.spelling(a, v) or v for a, v in attrs.items() if a in self.vocab.values and v}
        return torch.tensor([self.vocab.encode(spelled)], dtype=torch.long, device=self.device)

    def spelling(self, attribute: str, value) -> str | None:
        """The vocabulary's spelling of a value, ignoring case, spaces and punctuation; None if unknown."""
        return next((v for v in self.vocab.allowed(attribute) if spelling_key(v) == spelling_key(value)), None)

    def resolve_colour(self, colour: str) -> str:
        """The vocabulary's spelling of a colour ("navy blue" -> "Navy Blue"); raises UnknownAttributeValue."""
        attr = self._colour_attr()
        match = self.spelling(attr, colour)
        if match is None:
            raise UnknownAttributeValue(attr, colour, self.vocab.allowed(attr))
        return match

    def _colour_attr(self) -> str:
        if self.colour_attribute not in self.vocab.attributes:
            raise ValueError(f"this model has no colour attribute (attributes: {self.vocab.attributes})")
        return self.colour_attribute

    def _model_input(self, image: Image.Image) -> torch.Tensor:
        c = self.config
        return to_tensor(fit(image, c.height, c.width, c.channels)).unsqueeze(0).to(self.device)  # (1, c, h, w)

    def _low(self, x: torch.Tensor) -> np.ndarray:
        """(c, h, w) in [-1, 1] -> float (h, w, 3) in [0, 1] (grayscale repeated to 3 channels)."""
        arr = tensor_to_array(x)
        return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr

    # --- public ----------------------------------------------------------------------------------------

    def invert(self, image: Image.Image, attrs: dict, steps: int = 30, lr: float = 0.05,
               prior: float = 1e-3) -> torch.Tensor:
        """Latent z (1, z_dim) with G(z, c) ~ image: z0 = E(x), then Adam on L1 + prior * mean(z^2)."""
        x, cond = self._model_input(image), self.condition(attrs)
        with torch.no_grad():
            z0 = self.E(x)
        z = z0.clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        best, best_loss = z0, float("inf")
        for _ in range(steps + 1):
            loss = F.l1_loss(self.G(z, cond), x) + prior * z.pow(2).mean()
            if loss.item() < best_loss:
                best, best_loss = z.detach().clone(), loss.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return best

    @torch.no_grad()
    def _decode(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.G(z, cond.expand(len(z), -1))  # (k, c, h, w)

    def colourways(self, image: Image.Image, attrs: dict, count: int = 3, seed: int = 0,
                   colours: list[str] | None = None, steps: int | None = None, transfer: str = "chroma",
                   masker=None, garment=None) -> list[Variant]:
        """The product in other colours, at the original's full resolution.

        colours: target colour names (case/space-insensitive; unknown ones raise UnknownAttributeValue);
        default: `count` colours of the vocabulary other than the source's, picked deterministically by seed.
        transfer: "chroma" (default: a chroma gain where the product has a colour; white prints, stripes, skin of
        another hue and the backdrop stay as they are) or "affine" (the local affine colour transform everywhere:
        stronger on pale products, but it tints white details and can leave a halo).
        masker: an `ml.masker.ProductMasker`; when given, each colour is applied inside the product's mask in OKLab
        with the catalogue's look of that colour (`masked_recolour`): skin, hair and the backdrop are untouched and
        every part of the product's main colour changes; on a worn photo only the `garment`'s product (an
        `ml.garment.Garment`, the category's place on a model). The GAN is not run then, except for a colour the
        catalogue never showed (its rendition gives that colour's look): mixed into a known colour's look, the
        rendition moved results away from it (issue 22 ablation, docs/benchmarks.md).
        steps: inversion steps; default 30, or MASKED_INVERSION_STEPS with a masker.
        Returns one Variant per colour (fewer than `count` only if the vocabulary has fewer other colours).
        """
        attr = self._colour_attr()
        targets = [self.resolve_colour(c) for c in colours] if colours else self._pick_colours(attrs, count, seed)
        if not targets:
            return []
        steps = steps if steps is not None else MASKED_INVERSION_STEPS if masker is not None else 30
        if masker is not None:
            return self._masked_colourways(image, attrs, targets, steps, masker, garment, seed)
        before, afters = self.renditions(image, attrs, targets, steps)
        return [
            Variant(_keep_backdrop(image, recolour(image, before, after, transfer)),
                    {"mode": "colourway", "attribute": attr, "colour": colour, "delivery": "guided-full-res",
                     "inversion_steps": steps, "transfer": transfer}, seed)
            for colour, after in zip(targets, afters)
        ]

    def _masked_colourways(self, image, attrs, targets, steps, masker, garment, seed) -> list[Variant]:
        """Colourways through the product mask: the catalogue's look of each colour (`masked_recolour`); the GAN
        draws the product (inverted with `steps`) only for colours the catalogue never showed."""
        unknown = unknown_colours(masker, targets, attrs.get(category_attribute(attrs) or ""))
        renditions = None
        if any(unknown):
            afters = self.renditions(image, attrs, targets, steps)[1]
            renditions = [after if drawn else None for after, drawn in zip(afters, unknown)]
        done = masked_recolour(masker, image, attrs, self._colour_attr(), targets, renditions, garment)
        return [Variant(im, {"mode": "colourway", "attribute": self._colour_attr(), "colour": colour,
                             "delivery": "masked-full-res", "inversion_steps": steps if drawn else 0, **extra}, seed)
                for colour, drawn, (im, extra) in zip(targets, unknown, done)]

    def renditions(self, image: Image.Image, attrs: dict, colours: list[str], steps: int = 30):
        """The model's drawing of the product as it is and in each colour (vocabulary spellings), from its inverted
        latent: (before (h, w, 3), [after (h, w, 3) per colour]), floats in [0, 1] at the model's resolution."""
        attr = self._colour_attr()
        z, src = self.invert(image, attrs, steps), self.condition(attrs)
        tgt = src.repeat(len(colours), 1)
        tgt[:, self.vocab.attributes.index(attr)] = torch.tensor([self.vocab.index(attr, c) for c in colours])
        afters = self._decode(z.expand(len(colours), -1), tgt)
        return self._low(self._decode(z, src)[0]), [self._low(a) for a in afters]

    def _pick_colours(self, attrs: dict, count: int, seed: int) -> list[str]:
        attr = self._colour_attr()
        source = self.vocab.index(attr, self.spelling(attr, attrs.get(attr, "")) or "")
        pool = [v for i, v in enumerate(self.vocab.values[attr]) if i not in (0, source)]
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed)).tolist()
        return [pool[i] for i in order[:count]]

    def design_variations(self, image: Image.Image, attrs: dict, count: int = 3, seed: int = 0,
                          strength: float = 0.5, steps: int = 30) -> list[Variant]:
        """New designs near the product: z + strength * noise around its inverted latent, same attributes.

        NOT full resolution: the model's low-resolution drawing, upscaled (Lanczos) to the original's size.
        """
        gen = torch.Generator().manual_seed(seed)
        z, cond = self.invert(image, attrs, steps), self.condition(attrs)
        seen = [np.asarray(fit(image, self.config.height, self.config.width))]  # the source, as the model sees it
        out: list[Variant] = []
        for index in range(count):
            for _ in range(10):  # redraw the (unlikely) duplicate or blank image
                noise = torch.randn(1, self.config.z_dim, generator=gen).to(self.device)
                low = tensor_to_pil(self._decode(z + strength * noise, cond)[0]).convert("RGB")
                if _is_new(np.asarray(low), seen):
                    break
            seen.append(np.asarray(low))
            out.append(Variant(_upscale(low, image.size),
                               {"mode": "design", "strength": strength, "index": index,
                                "delivery": f"upscaled-from-{low.width}x{low.height}", "inversion_steps": steps},
                               seed))
        return out

    @torch.no_grad()
    def sample(self, attrs: dict, count: int = 4, seed: int = 0, truncation: float | None = 0.7) -> list[Image.Image]:
        """Plain conditional samples at the model's resolution."""
        gen = torch.Generator().manual_seed(seed)
        z = truncated_z(count, self.config.z_dim, truncation, gen).to(self.device)
        return [tensor_to_pil(x) for x in self._decode(z, self.condition(attrs))]


def product_mask(image: np.ndarray, low: float = 0.04, high: float = 0.12) -> np.ndarray:
    """Soft mask (h, w, 1) of what stands out from the backdrop (the median border colour); float image.

    All ones when almost nothing stands out (a white product on white): such a product is then recoloured
    everywhere rather than not at all.
    """
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])  # (n, c)
    dist = np.abs(image - np.median(border, axis=0)).max(axis=2)  # (h, w)
    mask = np.clip((dist - low) / (high - low), 0.0, 1.0)
    return (mask if mask.mean() > 0.03 else np.ones_like(mask))[..., None]


def recolour(image: Image.Image, before: np.ndarray, after: np.ndarray, transfer: str = "chroma") -> Image.Image:
    """The low-resolution recolouring at full resolution: as a chroma gain where the product has a colour (white
    stripes, prints and the backdrop stay as they are, no halo), else as a local affine colour transform."""
    if transfer not in ("chroma", "affine"):
        raise ValueError(f"transfer must be 'chroma' or 'affine', not {transfer!r}")
    chroma = apply_lowres_chroma_change(image, before, after) if transfer == "chroma" else None
    return chroma if chroma is not None else apply_lowres_change(image, before, after)


def _keep_backdrop(original: Image.Image, recoloured: Image.Image) -> Image.Image:
    """Paste the recoloured product over the original's own backdrop. The generator's soft edges make the
    guided transfer tint the backdrop around the product (a halo); the full-resolution mask removes it."""
    orig = np.asarray(to_rgb(original), dtype=np.float32) / 255
    mask = product_mask(orig)
    out = orig * (1 - mask) + np.asarray(recoloured, dtype=np.float32) / 255 * mask
    return Image.fromarray((out * 255 + 0.5).astype(np.uint8))


def _is_new(arr: np.ndarray, seen: list[np.ndarray]) -> bool:
    """Not blank (some contrast) and not identical to any image already produced."""
    return float(arr.std()) > 1.0 and not any(arr.shape == s.shape and np.array_equal(arr, s) for s in seen)


def _upscale(low: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Upscale a model-resolution image to the original's size (W, H): undo the padding fit() added."""
    W, H = size
    aspect = low.width / low.height
    padded = pad_to_aspect(Image.new("RGB", size), aspect).size  # the padded original's size
    big = low.resize(padded, Image.Resampling.LANCZOS)
    ox, oy = (padded[0] - W) // 2, (padded[1] - H) // 2
    return big.crop((ox, oy, ox + W, oy + H))
