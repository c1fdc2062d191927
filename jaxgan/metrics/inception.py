"""pytorch-fid's Inception-v3 (the FID network) in Flax, NHWC, and batched sharded feature extraction.

The network is torchvision's Inception3 as pytorch-fid patches it into the TensorFlow FID graph:
BasicConv2d = conv without bias + BatchNorm (eps 1e-3, running statistics) + ReLU; the average
pools in the A, C and first E blocks divide by the number of real (unpadded) pixels
(count_include_pad=False, TensorFlow's rule); the last E block pools with max instead of
average; pool3 is the 2048-d global average, and a 1008-way fully connected layer gives logits.

Input: images in [0, 1], any size; resized to 299x299 with bilinear interpolation
(align_corners=False, no antialiasing: torch's F.interpolate, as pytorch-fid does) and scaled to
[-1, 1]. `clean_resize` is clean-fid's alternative, on the host: each channel resized in float by
PIL's bicubic filter (which antialiases when shrinking).

The attributes `bn_eps`, `pool_counts_pad`, `last_pool` and the resize are fixed to pytorch-fid's
choices for real use; the tests flip them to prove that each porting mistake changes the output.
"""

from __future__ import annotations

import functools
import math
from typing import Iterable, Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxgan.errors import JaxganError
from jaxgan.metrics import inception_weights as weights_lib

INPUT_SIZE = 299
FEATURE_DIM = weights_lib.FEATURE_DIM
NUM_LOGITS = weights_lib.NUM_LOGITS


class BasicConv(nn.Module):
  features: int
  kernel: tuple[int, int]
  strides: int = 1
  padding: tuple[int, int] = (0, 0)
  bn_eps: float = 1e-3

  @nn.compact
  def __call__(self, x):
    pad = ((self.padding[0], self.padding[0]), (self.padding[1], self.padding[1]))
    x = nn.Conv(self.features, self.kernel, (self.strides, self.strides), pad, use_bias=False,
                name="conv")(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=self.bn_eps, name="bn")(x)
    return nn.relu(x)


def _avg_pool_3x3(x, counts_pad: bool):
  # TensorFlow (and pytorch-fid's patch) divides border windows by their real pixel count.
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=counts_pad)


def _max_pool_3x3(x, stride: int, pad: int):
  # Flax pads max pooling with -inf, as torch does.
  return nn.max_pool(x, (3, 3), (stride, stride), ((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  pool_features: int
  bn_eps: float = 1e-3
  pool_counts_pad: bool = False

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv, bn_eps=self.bn_eps)
    b1 = conv(64, (1, 1), name="branch1x1")(x)
    b5 = conv(48, (1, 1), name="branch5x5_1")(x)
    b5 = conv(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
    b3 = conv(64, (1, 1), name="branch3x3dbl_1")(x)
    b3 = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
    b3 = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
    bp = conv(self.pool_features, (1, 1), name="branch_pool")(
        _avg_pool_3x3(x, self.pool_counts_pad))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  bn_eps: float = 1e-3

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv, bn_eps=self.bn_eps)
    b3 = conv(384, (3, 3), strides=2, name="branch3x3")(x)
    bd = conv(64, (1, 1), name="branch3x3dbl_1")(x)
    bd = conv(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = conv(96, (3, 3), strides=2, name="branch3x3dbl_3")(bd)
    return jnp.concatenate([b3, bd, _max_pool_3x3(x, 2, 0)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int
  bn_eps: float = 1e-3
  pool_counts_pad: bool = False

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv, bn_eps=self.bn_eps)
    c7 = self.channels_7x7
    b1 = conv(192, (1, 1), name="branch1x1")(x)
    b7 = conv(c7, (1, 1), name="branch7x7_1")(x)
    b7 = conv(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
    b7 = conv(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
    bd = conv(c7, (1, 1), name="branch7x7dbl_1")(x)
    bd = conv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
    bd = conv(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
    bd = conv(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
    bd = conv(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
    bp = conv(192, (1, 1), name="branch_pool")(_avg_pool_3x3(x, self.pool_counts_pad))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  bn_eps: float = 1e-3

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv, bn_eps=self.bn_eps)
    b3 = conv(192, (1, 1), name="branch3x3_1")(x)
    b3 = conv(320, (3, 3), strides=2, name="branch3x3_2")(b3)
    b7 = conv(192, (1, 1), name="branch7x7x3_1")(x)
    b7 = conv(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
    b7 = conv(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
    b7 = conv(192, (3, 3), strides=2, name="branch7x7x3_4")(b7)
    return jnp.concatenate([b3, b7, _max_pool_3x3(x, 2, 0)], axis=-1)


class InceptionE(nn.Module):
  """pool='avg': FIDInceptionE_1 (average without pad counts); 'max': FIDInceptionE_2."""
  pool: str = "avg"
  bn_eps: float = 1e-3
  pool_counts_pad: bool = False

  @nn.compact
  def __call__(self, x):
    conv = functools.partial(BasicConv, bn_eps=self.bn_eps)
    b1 = conv(320, (1, 1), name="branch1x1")(x)
    b3 = conv(384, (1, 1), name="branch3x3_1")(x)
    b3 = jnp.concatenate([conv(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                          conv(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], axis=-1)
    bd = conv(448, (1, 1), name="branch3x3dbl_1")(x)
    bd = conv(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
    bd = jnp.concatenate([conv(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                          conv(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)], axis=-1)
    if self.pool == "max":
      pooled = _max_pool_3x3(x, 1, 1)
    else:
      pooled = _avg_pool_3x3(x, self.pool_counts_pad)
    bp = conv(192, (1, 1), name="branch_pool")(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


def _resize_matrix(in_size: int, out_size: int) -> np.ndarray:
  """(out, in) weights of torch's bilinear F.interpolate along one axis, align_corners=False.

  Source coordinate (i + 0.5) * in/out - 0.5, clamped at 0 below and at the last pixel above,
  interpolated between its two neighbours; no antialiasing, so shrinking skips pixels as torch does.
  """
  scale = in_size / out_size
  src = np.maximum((np.arange(out_size) + 0.5) * scale - 0.5, 0.0)
  lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
  hi = np.minimum(lo + 1, in_size - 1)
  frac = src - lo
  matrix = np.zeros((out_size, in_size), np.float64)
  np.add.at(matrix, (np.arange(out_size), lo), 1.0 - frac)
  np.add.at(matrix, (np.arange(out_size), hi), frac)
  return matrix.astype(np.float32)


def bilinear_resize(images, size: int = INPUT_SIZE):
  """(N, H, W, C) -> (N, size, size, C) exactly as torch's bilinear interpolate, align_corners=False."""
  _, height, width, _ = images.shape
  if height == size and width == size:
    return images
  rows = jnp.asarray(_resize_matrix(height, size))
  cols = jnp.asarray(_resize_matrix(width, size))
  # HIGHEST keeps the two small matmuls in float32 on accelerators that default to bf16 passes.
  images = jnp.einsum("oh,nhwc->nowc", rows, images, precision=jax.lax.Precision.HIGHEST)
  return jnp.einsum("pw,nowc->nopc", cols, images, precision=jax.lax.Precision.HIGHEST)


class InceptionV3(nn.Module):
  """pytorch-fid's FID Inception-v3: images in [0, 1] (N, H, W, 3) -> (pool3 (N, 2048), logits
  (N, 1008), unbiased logits (N, 1008)).

  Unbiased logits are pool3 @ W without the fc bias: the original Inception Score code (Salimans
  et al.) took the softmax of those, so IS is computed from them.
  """
  bn_eps: float = 1e-3
  pool_counts_pad: bool = False
  last_pool: str = "max"
  resize: bool = True

  @nn.compact
  def __call__(self, images):
    x = bilinear_resize(images, INPUT_SIZE) if self.resize else images
    x = 2.0 * x - 1.0
    eps, counts = self.bn_eps, self.pool_counts_pad
    conv = functools.partial(BasicConv, bn_eps=eps)
    x = conv(32, (3, 3), strides=2, name="Conv2d_1a_3x3")(x)
    x = conv(32, (3, 3), name="Conv2d_2a_3x3")(x)
    x = conv(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
    x = _max_pool_3x3(x, 2, 0)
    x = conv(80, (1, 1), name="Conv2d_3b_1x1")(x)
    x = conv(192, (3, 3), name="Conv2d_4a_3x3")(x)
    x = _max_pool_3x3(x, 2, 0)
    x = InceptionA(32, eps, counts, name="Mixed_5b")(x)
    x = InceptionA(64, eps, counts, name="Mixed_5c")(x)
    x = InceptionA(64, eps, counts, name="Mixed_5d")(x)
    x = InceptionB(eps, name="Mixed_6a")(x)
    x = InceptionC(128, eps, counts, name="Mixed_6b")(x)
    x = InceptionC(160, eps, counts, name="Mixed_6c")(x)
    x = InceptionC(160, eps, counts, name="Mixed_6d")(x)
    x = InceptionC(192, eps, counts, name="Mixed_6e")(x)
    x = InceptionD(eps, name="Mixed_7a")(x)
    x = InceptionE("avg", eps, counts, name="Mixed_7b")(x)
    x = InceptionE(self.last_pool, eps, counts, name="Mixed_7c")(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    fc = nn.Dense(NUM_LOGITS, name="fc")
    logits = fc(pool3)
    unbiased = pool3 @ fc.variables["params"]["kernel"]
    return pool3, logits, unbiased


def variables_from_state_dict(state_dict) -> dict:
  """Flax variables of InceptionV3 from a pytorch-fid state dict (numpy arrays or torch tensors)."""
  return weights_lib.unflatten(weights_lib.state_dict_to_flat(state_dict))


def load_inception(path: str | None = None, config=None) -> tuple[dict, str]:
  """(Flax variables, sha256 of the file) of converted weights.

  The file is `path`, else the config's `eval.inception_weights`, else $JAXGAN_INCEPTION_WEIGHTS;
  a missing one is a one-line JaxganError naming the file and the convert command.
  """
  path = weights_lib.resolve_weights_path(path, config)
  return weights_lib.unflatten(weights_lib.load_flat(path)), weights_lib.file_sha256(path)


def clean_resize(images: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
  """clean-fid's resize on the host: uint8 or [0, 255] float (N, H, W, C) -> float32 (N, size,
  size, C) in [0, 255]; each channel a float ('F') PIL image resized bicubically, then clipped."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  images = np.asarray(images)
  out = np.empty(images.shape[:1] + (size, size) + images.shape[3:], np.float32)
  for i, image in enumerate(images):
    for c in range(image.shape[-1]):
      plane = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
      out[i, :, :, c] = np.asarray(plane.resize((size, size), Image.BICUBIC))
  return np.clip(out, 0.0, 255.0)


@functools.lru_cache(maxsize=8)
def _jitted_apply(module: InceptionV3, devices: tuple):
  """One jitted apply per network variant and device set, so every extractor (one per evaluation
  during training, say) reuses the compilations of the first."""
  mesh = Mesh(np.array(devices), ("batch",))
  batch = NamedSharding(mesh, P("batch"))
  return jax.jit(module.apply, in_shardings=(NamedSharding(mesh, P()), batch), out_shardings=batch)


class InceptionExtractor:
  """Jitted pytorch-fid Inception features, the batch sharded over a 1-D mesh of all devices.

  Call with uint8 (N, H, W, 1 or 3) images (gray repeated to RGB), or an iterable of such
  batches; returns float32 (pool3 (N, 2048), unbiased logits (N, 1008)) on the host. The last
  batch is padded to the full batch size (so one compilation serves every batch) and the padding
  dropped. resize='pytorch-fid' resizes in the network as pytorch-fid does; 'clean' resizes on the
  host as clean-fid does.
  """

  def __init__(self, variables, batch_size: int = 64, resize: str = "pytorch-fid",
               devices=None, progress: bool = False, module: InceptionV3 | None = None):
    if resize not in ("pytorch-fid", "clean"):
      raise JaxganError(f"resize must be 'pytorch-fid' or 'clean', got {resize!r}")
    devices = list(devices if devices is not None else jax.devices())
    self.mesh = Mesh(np.array(devices), ("batch",))
    # A multiple of the device count, so every device gets an equal slice.
    self.batch_size = max(1, math.ceil(batch_size / len(devices))) * len(devices)
    self.resize = resize
    self.progress = progress
    self.module = module or InceptionV3()
    replicated = NamedSharding(self.mesh, P())
    self._batch_sharding = NamedSharding(self.mesh, P("batch"))
    self.variables = jax.device_put(variables, replicated)
    self._apply = _jitted_apply(self.module, tuple(devices))

  def _prepare(self, batch: np.ndarray) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3):
      raise JaxganError(f"images must have shape (N, H, W, 1 or 3), got {batch.shape}")
    if batch.dtype != np.uint8:
      raise JaxganError(f"images must be uint8 in [0, 255], got {batch.dtype}")
    if batch.shape[-1] == 1:
      batch = np.repeat(batch, 3, axis=-1)
    if self.resize == "clean":
      return clean_resize(batch) / np.float32(255.0)
    return batch.astype(np.float32) / np.float32(255.0)

  @staticmethod
  def _chunks(images, batch_size: int) -> Iterator[np.ndarray]:
    if isinstance(images, np.ndarray):
      images = [images]
    for batch in images:
      batch = np.asarray(batch)
      for start in range(0, len(batch), batch_size):
        yield batch[start:start + batch_size]

  def __call__(self, images: np.ndarray | Iterable[np.ndarray], total: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(images, np.ndarray):
      total = len(images)
    batch_size = self.batch_size
    if total is not None and 0 < total < batch_size:
      # A set smaller than one batch is not padded up to it (a 10-image test set would otherwise
      # run 64 images at 299x299); still a multiple of the device count.
      devices = self.mesh.devices.size
      batch_size = math.ceil(total / devices) * devices
    feats, logits = [], []
    bar = None
    if self.progress:
      from jaxgan import progress  # pylint: disable=g-import-not-at-top
      bar = progress.bar(total, "inception")
    try:
      for batch in self._chunks(images, batch_size):
        n = len(batch)
        batch = self._prepare(batch)
        if n < batch_size:
          pad = np.zeros((batch_size - n,) + batch.shape[1:], batch.dtype)
          batch = np.concatenate([batch, pad])
        pool3, _, unbiased = self._apply(self.variables,
                                         jax.device_put(batch, self._batch_sharding))
        feats.append(np.asarray(pool3)[:n])
        logits.append(np.asarray(unbiased)[:n])
        if bar is not None:
          bar.update(n)
    finally:
      if bar is not None:
        bar.close()
    if not feats:
      raise JaxganError("no images to score")
    return np.concatenate(feats), np.concatenate(logits)
