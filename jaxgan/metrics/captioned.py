"""Reading captioned_digits attributes back from images: the text-to-image accuracy metric.

A small CNN (the attribute reader) is trained once, deterministically, on the real 'train'
renders, with one softmax head per attribute: colour, background, thickness, slant, size,
position, pattern. It is cached under $JAXGAN_CACHE like the digits classifier. Its accuracy on the
real 'test' renders (`ceiling`) is the best a generator can be scored at.

Class is read by the existing digits classifier (jaxgan.metrics.digits_classifier), on the image
de-coloured with the colours the reader sees in it (each pixel's position between the background
and stroke colours, 0..1), cut to a square around the stroke's bounding box (the classifier was
trained on digits filling their 8x8 frame), deskewed by its moments and resized to its 32x32
input; see `digit_crops`.

Lower-resolution images (a 16x16 Stage-I) are upsampled bilinearly to 64x64 first. To read those
fairly, a third of the reader's training images are blurred by an area downscale to 16 or 32 and
a bilinear upscale back, and the pattern head is not trained on them (the pattern is gone there),
so every other head reads blurred images too while the pattern head only learns from sharp ones.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pathlib

import flax.linen as nn
from flax import serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan.data import captioned_digits as cd
from jaxgan.errors import JaxganError

READ_ATTRIBUTES = ("colour", "background", "thickness", "slant", "size", "position", "pattern")
CODE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ReaderRecipe:
  """Everything that determines the trained reader; its hash names the cache file."""

  seed: int = 0
  num_epochs: int = 16
  batch_size: int = 64
  learning_rate: float = 2e-3
  widths: tuple[int, ...] = (32, 64, 128)
  hidden: int = 256
  blur_fraction: float = 1 / 3
  num_train: int | None = None  # None: every 'train' render (a prefix, for quick tests)

  def digest(self) -> str:
    fields = dataclasses.asdict(self) | {"code_version": CODE_VERSION, "data": cd.VERSION}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT_RECIPE = ReaderRecipe()


class ReaderCNN(nn.Module):
  """4x4 stride-4 conv (one pattern period per patch), stride-2 3x3 convs, a dense layer, heads."""

  widths: tuple[int, ...] = DEFAULT_RECIPE.widths
  hidden: int = DEFAULT_RECIPE.hidden

  @nn.compact
  def __call__(self, images: jax.Array) -> dict[str, jax.Array]:
    x = nn.relu(nn.Conv(self.widths[0], (4, 4), strides=(4, 4), padding="VALID")(images))
    for width in self.widths[1:]:
      x = nn.relu(nn.Conv(width, (3, 3), strides=(2, 2))(x))
    x = nn.relu(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1)))
    return {a: nn.Dense(cd.NUM_VALUES[a], name=f"head_{a}")(x) for a in READ_ATTRIBUTES}


def to_reader_input(images) -> np.ndarray:
  """uint8 (N, H, W, 3) or float (N, H, W, 3) in [-1, 1] -> float32 (N, 64, 64, 3) in [-1, 1]."""
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
    raise JaxganError(f"attribute reader wants square RGB images (N, S, S, 3), got {images.shape}")
  if images.dtype == np.uint8:
    images = images.astype(np.float32) / 127.5 - 1.0
  images = np.clip(images.astype(np.float32), -1.0, 1.0)
  if images.shape[1] != cd.SIZE:
    images = np.asarray(jax.image.resize(images, (len(images), cd.SIZE, cd.SIZE, 3), "linear"))
  return images


def blur(images: np.ndarray, size: int) -> np.ndarray:
  """Area downscale of (N, 64, 64, 3) [-1, 1] images to size, bilinear back up to 64."""
  factor = cd.SIZE // size
  small = images.reshape(len(images), size, factor, size, factor, 3).mean(axis=(2, 4))
  return np.asarray(jax.image.resize(small, images.shape, "linear"))


def train_reader(recipe: ReaderRecipe = DEFAULT_RECIPE):
  """Trains from scratch (no cache); returns (params, per-step losses)."""
  data = cd.captioned_digits("train")
  images = data["images"]
  labels = {a: data["attributes"][a] for a in READ_ATTRIBUTES}
  if recipe.num_train is not None:
    images = images[: recipe.num_train]
    labels = {a: v[: recipe.num_train] for a, v in labels.items()}
  images = images.astype(np.float32) / 127.5 - 1.0
  rng = np.random.default_rng(recipe.seed)
  blurred = rng.random(len(images)) < recipe.blur_fraction
  to_size = np.where(rng.random(len(images)) < 0.5, 16, 32)
  for size in (16, 32):
    which = blurred & (to_size == size)
    if which.any():
      images[which] = blur(images[which], size)
  model = ReaderCNN(recipe.widths, recipe.hidden)
  params = model.init(jax.random.PRNGKey(recipe.seed), images[:1])["params"]
  steps_per_epoch = len(images) // recipe.batch_size
  if steps_per_epoch == 0:
    raise JaxganError(f"need at least batch_size={recipe.batch_size} training images")
  optimizer = optax.adam(optax.cosine_decay_schedule(recipe.learning_rate,
                                                     recipe.num_epochs * steps_per_epoch))
  opt_state = optimizer.init(params)

  @jax.jit
  def step(params, opt_state, x, y, sharp):
    def loss_fn(params):
      logits = model.apply({"params": params}, x)
      total = 0.0
      for attr in READ_ATTRIBUTES:
        loss = optax.softmax_cross_entropy_with_integer_labels(logits[attr], y[attr])
        if attr == "pattern":
          total += (loss * sharp).sum() / jnp.maximum(sharp.sum(), 1.0)
        else:
          total += loss.mean()
      return total

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  losses = []
  for _ in range(recipe.num_epochs):
    order = rng.permutation(len(images))
    for i in range(steps_per_epoch):
      idx = order[i * recipe.batch_size : (i + 1) * recipe.batch_size]
      params, opt_state, loss = step(params, opt_state, images[idx],
                                     {a: v[idx] for a, v in labels.items()},
                                     (~blurred[idx]).astype(np.float32))
      losses.append(float(loss))
  return jax.device_get(params), np.array(losses)


def decolour(images: np.ndarray, colour: np.ndarray, background: np.ndarray) -> np.ndarray:
  """(N, 64, 64, 3) [-1, 1] -> (N, 64, 64) in [0, 1]: each pixel's position from the background
  colour (0) to the stroke colour (1) of the given palette indices."""
  fg = cd.PALETTE[np.asarray(colour)] / 127.5 - 1.0
  bg = cd.PALETTE[np.asarray(background)] / 127.5 - 1.0
  axis = (fg - bg)[:, None, None, :]
  # one colour for both (a reader's mistake): no ink anywhere rather than NaN
  t = ((images - bg[:, None, None, :]) * axis).sum(-1) / np.maximum((axis ** 2).sum(-1), 1e-6)
  return np.clip(t, 0.0, 1.0)


def digit_crops(ink: np.ndarray, size: int = 32) -> np.ndarray:
  """(N, 64, 64) ink in [0, 1] -> (N, size, size, 1) in [-1, 1] for the digits classifier.

  Each image's ink (pixels > 0.5) is deskewed by its moments (col' = col - skew (row - mean
  row), the rendering's own deskew, which undoes the caption's slant) and the square around the
  deskewed bounding box (side its larger extent: the digits fill their 8x8 frame) is sampled
  bilinearly on a size x size grid. An image without ink is passed whole. On the real test
  renders this gave the classifier 0.88 against 0.78 with no deskew and 0.56 with a 1.3x margin.
  """
  from scipy import ndimage  # pylint: disable=g-import-not-at-top

  out = np.empty((len(ink), size, size, 1), np.float32)
  for i, plane in enumerate(ink):
    rows, cols = np.nonzero(plane > 0.5)
    if len(rows) < 2:
      crop = np.asarray(jax.image.resize(plane, (size, size), "linear", antialias=True))
    else:
      weight = plane[rows, cols]
      mean_r = (weight * rows).sum() / weight.sum()
      mean_c = (weight * cols).sum() / weight.sum()
      var_r = (weight * (rows - mean_r) ** 2).sum()
      skew = (weight * (rows - mean_r) * (cols - mean_c)).sum() / max(var_r, 1e-6)
      upright = cols - skew * (rows - mean_r)
      r0, r1 = rows.min(), rows.max() + 1.0
      c0, c1 = upright.min(), upright.max() + 1.0
      side = max(r1 - r0, c1 - c0)
      grid = (np.arange(size) + 0.5) / size * side - side / 2 - 0.5
      rr, cc = np.meshgrid((r0 + r1) / 2 + grid, (c0 + c1) / 2 + grid, indexing="ij")
      crop = ndimage.map_coordinates(plane, [rr, cc + skew * (rr - mean_r)], order=1,
                                     mode="constant", cval=0.0)
    out[i, :, :, 0] = crop * 2.0 - 1.0
  return out


class AttributeReader:
  """The trained reader plus the digits classifier: numpy in, numpy out."""

  def __init__(self, params, recipe: ReaderRecipe = DEFAULT_RECIPE, batch_size: int = 256):
    self.params, self.recipe, self.batch_size = params, recipe, batch_size
    model = ReaderCNN(recipe.widths, recipe.hidden)
    self._apply = jax.jit(lambda p, x: model.apply({"params": p}, x))

  def predict(self, images) -> dict[str, np.ndarray]:
    """attribute -> int (N,) predictions for READ_ATTRIBUTES (not class: it needs colours)."""
    images = to_reader_input(images)
    out = {a: [] for a in READ_ATTRIBUTES}
    for start in range(0, len(images), self.batch_size):
      batch = images[start : start + self.batch_size]
      pad = self.batch_size - len(batch)
      if pad:
        batch = np.concatenate([batch, np.zeros((pad,) + batch.shape[1:], batch.dtype)])
      logits = self._apply(self.params, batch)
      for a in READ_ATTRIBUTES:
        out[a].append(np.argmax(np.asarray(logits[a]), -1)[: self.batch_size - pad])
    return {a: np.concatenate(v).astype(np.int32) for a, v in out.items()}

  def predict_class(self, images, colour, background) -> np.ndarray:
    """int (N,) digit classes by the digits classifier, de-coloured with the given colours."""
    # Looked up at call time (not imported at the top) so tests can substitute a smaller one.
    from jaxgan.metrics import digits_classifier  # pylint: disable=g-import-not-at-top

    images = to_reader_input(images)
    crops = digit_crops(decolour(images, colour, background))
    classifier = digits_classifier.load_digits_classifier()
    return np.argmax(classifier.logits(crops), -1).astype(np.int32)

  def attribute_accuracy(self, images, attributes: dict,
                         mentions: dict | None = None) -> dict[str, float]:
    """attribute -> fraction of images showing the asked-for value (see the module doc).

    With `mentions` ({attr: bool (N,)}, e.g. the mentions of the captions the images were made
    from), each attribute is scored only over the images whose caption named it (NaN where none
    did): an attribute the caption left out may come out any way. Class is read with the colours
    the reader sees (so it works when the caption named no colour).
    """
    missing = [a for a in cd.ATTRIBUTES if a not in attributes]
    if missing:
      raise JaxganError(f"attribute_accuracy needs every attribute; missing {', '.join(missing)}")
    images = to_reader_input(images)
    arrays = list(attributes.values()) + list((mentions or {}).values())
    if any(len(np.asarray(v)) != len(images) for v in arrays):
      raise JaxganError(f"attribute_accuracy: {len(images)} images but attribute arrays of "
                        f"lengths {sorted({len(np.asarray(v)) for v in arrays})}")
    predicted = self.predict(images)
    predicted["class"] = self.predict_class(images, predicted["colour"], predicted["background"])
    result = {}
    for attr in cd.ATTRIBUTES:
      right = predicted[attr] == np.asarray(attributes[attr])
      if mentions is not None and attr in mentions:
        right = right[np.asarray(mentions[attr], bool)]
      result[attr] = float(np.mean(right)) if len(right) else float("nan")
    return result


def cache_path(recipe: ReaderRecipe = DEFAULT_RECIPE) -> pathlib.Path:
  return cd.cache_dir() / f"attribute_reader-{recipe.digest()}.msgpack"


def load_attribute_reader(recipe: ReaderRecipe = DEFAULT_RECIPE,
                          use_cache: bool = True) -> AttributeReader:
  """The trained reader: from the cache file, else trained (about a CPU minute) and saved."""
  if not use_cache:
    return AttributeReader(train_reader(recipe)[0], recipe)
  return _load_cached(str(cache_path(recipe)), recipe)


@functools.lru_cache(maxsize=None)
def _load_cached(path: str, recipe: ReaderRecipe) -> AttributeReader:
  path = pathlib.Path(path)
  template = jax.tree_util.tree_map(
      lambda s: np.zeros(s.shape, s.dtype),
      jax.eval_shape(ReaderCNN(recipe.widths, recipe.hidden).init, jax.random.PRNGKey(0),
                     jnp.zeros((1, cd.SIZE, cd.SIZE, 3)))["params"])
  if path.exists():
    try:
      return AttributeReader(serialization.from_bytes(template, path.read_bytes()), recipe)
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: train again
      logging.warning("unreadable attribute reader cache %s; training again", path)
  params, _ = train_reader(recipe)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(serialization.to_bytes(params))
    os.replace(tmp, path)
  except OSError as error:
    logging.warning("could not cache the attribute reader at %s: %s", path, error)
  return AttributeReader(params, recipe)


def attribute_accuracy(images, attributes: dict, mentions: dict | None = None) -> dict[str, float]:
  """Per-attribute accuracy of (generated) images against the attributes their captions asked
  for: images (N, S, S, 3) float in [-1, 1] or uint8, attributes {attr: int (N,)} with every
  attribute of captioned_digits.ATTRIBUTES (class included); optional mentions {attr: bool (N,)}
  restrict each attribute to the images whose caption named it."""
  return load_attribute_reader().attribute_accuracy(images, attributes, mentions)


def ceiling(blur_to: int | None = None) -> dict[str, float]:
  """The reader's accuracy on the real 'test' renders (optionally blurred to blur_to first)."""
  data = cd.captioned_digits("test")
  images = data["images"].astype(np.float32) / 127.5 - 1.0
  if blur_to:
    images = blur(images, blur_to)
  return attribute_accuracy(images, data["attributes"])


def main(argv=None) -> int:
  import argparse  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top

  parser = argparse.ArgumentParser(description="The attribute reader's ceiling on real renders.")
  parser.parse_args(argv)
  start = time.perf_counter()
  load_attribute_reader()
  trained = time.perf_counter() - start
  report = {"train_or_load_seconds": trained, "ceiling_64": ceiling(), "ceiling_16": ceiling(16)}
  print(json.dumps(report, indent=1))
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
