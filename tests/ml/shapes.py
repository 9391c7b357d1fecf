"""A tiny labelled catalogue for the GAN tests: squares and bars in three colours, with pixel noise."""
import numpy as np

from ml.vocab import AttributeVocab

COLOURS = {"red": (200, 30, 30), "green": (30, 160, 40), "blue": (30, 40, 200)}


def squares_and_bars(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, AttributeVocab]:
    """n 16x12 images (uint8) with their attribute indices and vocabulary (category, colour)."""
    rng = np.random.default_rng(seed)
    images, labels = [], {"category": [], "colour": []}
    for i in range(n):
        colour, category = list(COLOURS)[i % 3], ("square", "bar")[(i // 3) % 2]
        im = np.full((16, 12, 3), 255, np.int64)
        if category == "square":
            im[4:12, 3:9] = COLOURS[colour]
        else:
            im[2:14, 5:7] = COLOURS[colour]
        images.append(np.clip(im + rng.integers(-12, 12, im.shape), 0, 255).astype(np.uint8))
        labels["category"].append(category), labels["colour"].append(colour)
    vocab = AttributeVocab.build(labels)
    return np.stack(images), np.array(vocab.encode_many(labels)), vocab
