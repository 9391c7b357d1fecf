"""tests/bench tests the benchmarks' own code (bench/ is not part of the product); no database."""
import torch

torch.set_num_threads(1)
