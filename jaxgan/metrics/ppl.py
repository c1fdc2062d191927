"""Perceptual path length (Karras et al. 2018, StyleGAN section 4.2).

For pairs of latents, t ~ U(0, 1) ('full' sampling) or t = 0 ('end'), the images at t and at
t + epsilon along the path (Z: spherical interpolation of normalised z; W: linear interpolation
of the mapped w), and

    PPL = E[ d(G(path(t)), G(path(t + epsilon))) / epsilon^2 ],

the mean taken after discarding the distances below the 1st and above the 99th percentile, as
the official code (NVlabs/stylegan metrics/perceptual_path_length.py; stylegan2-ada-pytorch
metrics/perceptual_path_length.py, which also fixes the per-layer noise of both images).

The distance d is pluggable (`distance_fn`):
- 'digits' (default): squared Euclidean distance of the digits classifier's features
  (jaxgan.metrics.digits_classifier), the offline stand-in for LPIPS on the embedded digits;
- 'pixels': squared Euclidean distance of the pixels (a sanity check: PPL scales with the
  square of the output's scale);
- a path to an LPIPS-VGG16 weights file (.npz, see `LPIPSVGG16`): the paper's distance. Nothing
  is downloaded.
Departures: no face crop (the official FFHQ numbers crop to the face region first); images
above 256x256 are area-downsampled to 256 as the official code does, below it they are scored
as they are.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError

EPSILON = 1e-4
SPACES = ("z", "w")
SAMPLINGS = ("full", "end")


def normalize(x, axis=-1):
  return x / jnp.sqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))


def slerp(a, b, t):
  """Spherical interpolation of the directions of a and b ([N, D]) at t ([N]); unit length,
  as the official code (z's norm does not matter to a mapping network that pixel-normalises)."""
  a, b = normalize(a), normalize(b)
  d = jnp.sum(a * b, axis=-1, keepdims=True)
  p = t[:, None] * jnp.arccos(jnp.clip(d, -1.0, 1.0))
  c = normalize(b - d * a)
  return normalize(a * jnp.cos(p) + c * jnp.sin(p))


def lerp(a, b, t):
  return a + (b - a) * t.reshape((-1,) + (1,) * (a.ndim - 1))


def path_times(key, num: int, sampling: str):
  """t per pair: U(0, 1) for 'full', 0 for 'end' (the official code: uniform * 0)."""
  if sampling not in SAMPLINGS:
    raise JaxganError(f"ppl sampling must be one of {SAMPLINGS}, got {sampling!r}")
  scale = 1.0 if sampling == "full" else 0.0
  return jax.random.uniform(key, (num,), jnp.float32) * scale


def aggregate(distances: np.ndarray) -> float:
  """The mean of the distances between the 1st and 99th percentiles (inclusive)."""
  d = np.asarray(distances, np.float64)
  lo = np.percentile(d, 1, method="lower")
  hi = np.percentile(d, 99, method="higher")
  return float(np.mean(d[(d >= lo) & (d <= hi)]))


def perceptual_path_length(images_a, images_b, epsilon: float, distance) -> float:
  """PPL from the image pairs at t and t + epsilon, `distance(a, b)` -> [N] per pair."""
  d = np.asarray(distance(np.asarray(images_a, np.float32), np.asarray(images_b, np.float32)),
                 np.float64) / epsilon**2
  return aggregate(d)


def _downsample_to_256(images: np.ndarray) -> np.ndarray:
  size = images.shape[1]
  if size <= 256:
    return images
  f = size // 256
  n, h, w, c = images.shape
  return images.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


def pixel_distance(a, b):
  return np.sum(np.square(a - b).reshape(len(a), -1), axis=1, dtype=np.float64)


def digits_distance(a, b):
  from jaxgan.metrics.digits_classifier import load_digits_classifier  # pylint: disable=g-import-not-at-top
  grey = lambda x: x.mean(axis=-1, keepdims=True) if x.shape[-1] == 3 else x
  features = load_digits_classifier().features
  fa, fb = features(grey(a)), features(grey(b))
  return np.sum(np.square(fa - fb), axis=1, dtype=np.float64)


def distance_fn(name: str):
  """'digits', 'pixels' or the path of an LPIPS-VGG16 weights file -> distance(a, b) -> [N]."""
  if name == "digits":
    return digits_distance
  if name == "pixels":
    return pixel_distance
  if not name.endswith(".npz"):
    raise JaxganError(f"ppl distance must be 'digits', 'pixels' or an LPIPS-VGG16 weights file "
                      f"(.npz), got {name!r}")
  if not os.path.isfile(name):
    raise JaxganError(f"ppl distance: LPIPS-VGG16 weights file {name} not found; supply the "
                      "VGG16 conv weights and LPIPS linear weights as an .npz (see "
                      "jaxgan.metrics.ppl.LPIPSVGG16), or use distance='digits'")
  lpips = LPIPSVGG16(name)
  return lambda a, b: lpips(_downsample_to_256(a), _downsample_to_256(b))


# VGG16's 13 convolutions (torchvision's `features`), with the LPIPS taps after relu1_2,
# relu2_2, relu3_3, relu4_3 and relu5_3; a 2x2 max pool between the blocks.
VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
LPIPS_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
LPIPS_SCALE = np.array([0.458, 0.448, 0.450], np.float32)


class LPIPSVGG16:
  """LPIPS (Zhang et al. 2018) with the VGG16 backbone, from a user-supplied weights file.

  The .npz holds conv{1..13}_w ([3, 3, C_in, C_out], HWIO: torchvision's vgg16 `features`
  convolutions transposed from OIHW), conv{1..13}_b ([C_out]) and lin{0..4} ([C], the LPIPS
  v0.1 linear weights of richzhang/PerceptualSimilarity's vgg.pth, squeezed). distance(a, b):
  images in [-1, 1] (grey repeated to RGB), shifted and scaled as LPIPS's ScalingLayer, each
  tap's features unit-normalised over channels, squared differences weighted by lin, averaged
  over space and summed over taps.
  """

  def __init__(self, path: str):
    try:
      weights = dict(np.load(path))
    except Exception as e:  # an unreadable file is bad input
      raise JaxganError(f"cannot read LPIPS-VGG16 weights {path}: {e}") from e
    wanted = [f"conv{i}_{p}" for i in range(1, 14) for p in ("w", "b")] + [
        f"lin{i}" for i in range(5)]
    missing = [k for k in wanted if k not in weights]
    if missing:
      raise JaxganError(f"LPIPS-VGG16 weights {path} lack {', '.join(missing[:4])}"
                        f"{' ...' if len(missing) > 4 else ''}; expected {wanted[0]} ... lin4")
    self.weights = {k: jnp.asarray(weights[k], jnp.float32) for k in wanted}
    self._distance = jax.jit(self._distance_fn)

  def _taps(self, x):
    w = self.weights
    x = (x - LPIPS_SHIFT) / LPIPS_SCALE
    taps, i = [], 1
    for b, block in enumerate(VGG16_BLOCKS):
      if b > 0:
        x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
      for _ in block:
        x = jax.lax.conv_general_dilated(x, w[f"conv{i}_w"], (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.nn.relu(x + w[f"conv{i}_b"])
        i += 1
      taps.append(x)
    return taps

  def _distance_fn(self, a, b):
    total = 0.0
    for k, (fa, fb) in enumerate(zip(self._taps(a), self._taps(b))):
      fa = fa / (jnp.sqrt(jnp.sum(fa**2, axis=-1, keepdims=True)) + 1e-10)
      fb = fb / (jnp.sqrt(jnp.sum(fb**2, axis=-1, keepdims=True)) + 1e-10)
      total = total + jnp.mean(jnp.sum(jnp.square(fa - fb) * self.weights[f"lin{k}"], axis=-1),
                               axis=(1, 2))
    return total

  def __call__(self, a, b, batch_size: int = 50):
    if a.shape[-1] == 1:
      a, b = np.repeat(a, 3, axis=-1), np.repeat(b, 3, axis=-1)
    return np.concatenate([np.asarray(self._distance(a[s:s + batch_size], b[s:s + batch_size]))
                           for s in range(0, len(a), batch_size)])
