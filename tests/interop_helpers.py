"""Shared by the conversion tests: reference networks with random (non-default) weights saved
in the reference's state-dict layout, and comparisons."""

from __future__ import annotations

import numpy as np

torch = None
try:
  import torch  # noqa: F811  # pylint: disable=g-import-not-at-top
except ImportError:  # the tests that need it skip, saying so
  pass

TORCH_MISSING = "torch does not import here: the conversion tests compare against PyTorch rebuilds"


def randomise(module, seed: int):
  """Every parameter and buffer set to random values that nothing trivially cancels: weights
  ~ N(0, 1/fan_in), biases, BN shifts and attention gains off zero, BN gains and running
  variances off one, SN vectors random (not unit, as the reference draws them)."""
  gen = torch.Generator().manual_seed(seed)
  rand = lambda shape: torch.randn(shape, generator=gen)
  with torch.no_grad():
    for name, p in module.named_parameters():
      leaf = name.rsplit(".", 1)[-1]
      if leaf == "gamma":
        p.copy_(0.5 + 0.3 * rand(p.shape))
      elif p.dim() == 1 and (leaf == "gain" or
                             (leaf == "weight" and "norm" in _kind(module, name))):
        p.copy_(1.0 + 0.2 * rand(p.shape))
      elif p.dim() <= 1:
        p.copy_(0.2 * rand(p.shape))
      else:
        fan_in = p[0].numel() if p.dim() > 2 or "embed" not in name else 1
        p.copy_(rand(p.shape) / max(fan_in, 1) ** 0.5)
    for name, b in module.named_buffers():
      leaf = name.rsplit(".", 1)[-1]
      if leaf in ("running_var", "stored_var"):
        b.copy_(0.5 + torch.rand(b.shape, generator=gen))
      elif leaf in ("running_mean", "stored_mean"):
        b.copy_(0.2 * rand(b.shape))
      elif leaf == "u0":
        b.copy_(rand(b.shape))
  return module


def _kind(module, name: str) -> str:
  owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
  return type(owner).__name__.lower()


def save(module, path: str):
  torch.save(module.state_dict(), path)
  return path


def nchw(x: np.ndarray):
  return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t) -> np.ndarray:
  return t.detach().numpy().transpose(0, 2, 3, 1)


def max_diff(a, b) -> float:
  return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
