"""The captioned_digits attribute reader and attribute_accuracy (jaxgan/metrics/captioned.py)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from jaxgan.data import captioned_digits as cd
from jaxgan.data.embedded import digits_arrays
from jaxgan.errors import JaxganError
from jaxgan.metrics import captioned as C
from jaxgan.metrics import digits_classifier

TINY = dataclasses.replace(C.DEFAULT_RECIPE, num_epochs=6, batch_size=32, learning_rate=3e-3,
                           widths=(8, 16, 16), hidden=32,
                           num_train=320)


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
  """A fresh $JAXGAN_CACHE where a 'whole split' is the first 64 source digits."""
  patch = pytest.MonkeyPatch()
  patch.setenv("JAXGAN_CACHE", str(tmp_path_factory.mktemp("jaxgan_cache")))
  full = cd.generate
  patch.setattr(cd, "generate", lambda split, num_sources=None: full(split, 64))
  tiny_classifier = digits_classifier.ClassifierRecipe(num_epochs=6)
  trained = []

  def load_tiny_classifier():  # trained once, on first use
    if not trained:
      trained.append(digits_classifier.DigitsClassifier(
          digits_classifier.train_digits_classifier(tiny_classifier), tiny_classifier))
    return trained[0]

  patch.setattr(digits_classifier, "load_digits_classifier", load_tiny_classifier)
  cd._cached.cache_clear()
  yield
  cd._cached.cache_clear()
  patch.undo()


def _digit(i=0):
  return (digits_arrays("test")[0][i, :, :, 0] + 1.0) / 2.0


def test_decolour_maps_background_to_0_and_stroke_to_1():
  image = cd.render(_digit(), 2, 6, 1, 1, 1, 4, 1)  # blue on white, stripes
  ink = C.decolour(image[None].astype(np.float32) / 127.5 - 1.0, np.array([2]), np.array([6]))[0]
  alpha = cd.render(_digit(), 6, 7, 1, 1, 1, 4, 0)[..., 0] > 200  # the same stroke, white on black
  assert ink[alpha].mean() > 0.9
  background = ink[~ndimage_dilate(alpha)]
  assert background.mean() < 0.1 and np.percentile(background, 99) < 0.15  # stripes stay low


def test_decolour_with_one_colour_for_both_is_blank_not_nan():
  image = cd.render(_digit(), 2, 6, 1, 1, 1, 4, 0)[None].astype(np.float32) / 127.5 - 1.0
  ink = C.decolour(image, np.array([3]), np.array([3]))
  assert np.isfinite(ink).all() and ink.max() == 0.0


def ndimage_dilate(mask):
  from scipy import ndimage
  return ndimage.binary_dilation(mask, iterations=2)


def test_digit_crops_centre_fill_and_deskew():
  images = np.stack([cd.render(_digit(i), 6, 7, 1, slant, 0, position, 0)
                     for i, (slant, position) in enumerate([(0, 0), (2, 8), (1, 4)])])
  ink = C.decolour(images.astype(np.float32) / 127.5 - 1.0, np.full(3, 6), np.full(3, 7))
  crops = C.digit_crops(ink)
  assert crops.shape == (3, 32, 32, 1) and -1.0 <= crops.min() and crops.max() <= 1.0
  rows, cols = np.mgrid[:32, :32]
  for crop in crops[..., 0] > 0:
    r, c = rows[crop], cols[crop]
    assert np.ptp(r) >= 28 or np.ptp(c) >= 28  # fills the frame like the 8x8 digits
    assert abs(r.mean() - 15.5) < 5 and abs(c.mean() - 15.5) < 5
    assert abs(((r - r.mean()) * (c - c.mean())).mean() / r.var()) < 0.12  # deskewed
  assert C.digit_crops(np.zeros((1, 64, 64))).shape == (1, 32, 32, 1)  # no ink: no crash


def test_blur_removes_the_pattern_only():
  images = np.stack([cd.render(_digit(), 2, 6, 1, 1, 1, 4, p) for p in (0, 1, 2)])
  x = images.astype(np.float32) / 127.5 - 1.0
  sharp = np.abs(x[1:] - x[:1]).mean()
  blurred = C.blur(x, 16)
  assert blurred.shape == x.shape and sharp > 0.05
  assert np.abs(blurred[1:] - blurred[:1]).mean() < 0.1 * sharp


def test_reader_input_checks():
  assert C.to_reader_input(np.zeros((2, 16, 16, 3), np.uint8)).shape == (2, 64, 64, 3)
  for bad in (np.zeros((2, 64, 64, 1)), np.zeros((64, 64, 3)), np.zeros((2, 64, 32, 3))):
    with pytest.raises(JaxganError, match="square RGB"):
      C.to_reader_input(bad)


def test_tiny_reader_trains_reads_and_scores(small_cache):
  params, losses = C.train_reader(TINY)
  steps = len(losses) // TINY.num_epochs
  assert losses[-steps:].mean() < 0.9 * losses[:steps].mean()
  reader = C.AttributeReader(params, TINY)
  data = cd.captioned_digits("test")
  predicted = reader.predict(data["images"][:5])
  assert set(predicted) == set(C.READ_ATTRIBUTES)
  assert all(v.shape == (5,) and v.dtype == np.int32 for v in predicted.values())
  small = cd.to_model_images(data["images"][:5], 16)  # a Stage-I resolution is accepted too
  assert reader.predict(small)["colour"].shape == (5,)
  accuracy = reader.attribute_accuracy(data["images"], data["attributes"])
  assert set(accuracy) == set(cd.ATTRIBUTES)
  assert all(0.0 <= v <= 1.0 for v in accuracy.values())
  with pytest.raises(JaxganError, match="missing pattern"):
    reader.attribute_accuracy(data["images"], {k: v for k, v in data["attributes"].items()
                                               if k != "pattern"})
  with pytest.raises(JaxganError, match="attribute arrays"):
    reader.attribute_accuracy(data["images"][:3], data["attributes"])


class _Oracle(C.AttributeReader):
  """A reader that reads the given attributes (the network is not what is tested here)."""

  def __init__(self, attributes):
    self.attributes = attributes

  def predict(self, images):
    C.to_reader_input(images)
    return {a: self.attributes[a][: len(images)] for a in C.READ_ATTRIBUTES}


def test_attribute_accuracy_compares_what_was_asked(small_cache):
  data = cd.captioned_digits("test")
  attrs = data["attributes"]
  reader = _Oracle(attrs)
  accuracy = reader.attribute_accuracy(data["images"], attrs)
  assert all(accuracy[a] == 1.0 for a in C.READ_ATTRIBUTES)
  wrong = dict(attrs, slant=(attrs["slant"] + 1) % 3)
  assert reader.attribute_accuracy(data["images"], wrong)["slant"] == 0.0
  # only the images whose caption named the attribute count
  half = np.arange(len(data["images"])) % 2 == 0
  wrong_half = dict(attrs, size=np.where(half, attrs["size"], 1 - attrs["size"]))
  assert reader.attribute_accuracy(data["images"], wrong_half, {"size": half})["size"] == 1.0
  nobody = reader.attribute_accuracy(data["images"], attrs, {"size": np.zeros_like(half)})
  assert np.isnan(nobody["size"]) and nobody["slant"] == 1.0
  # class: the digits classifier on the crops de-coloured with the colours the reader sees; the
  # (short, 6-epoch) classifier reads the real renders far better than chance, and a reader that
  # sees the colours swapped (the ink inverted) breaks it
  assert accuracy["class"] > 0.3
  swapped = _Oracle(dict(attrs, colour=attrs["background"], background=attrs["colour"]))
  assert swapped.attribute_accuracy(data["images"], attrs)["class"] < accuracy["class"] - 0.1


@pytest.mark.skipif(not os.environ.get("JAXGAN_SLOW_TESTS"),
                    reason="trains the full reader; set JAXGAN_SLOW_TESTS=1")
def test_full_reader_ceiling():
  ceiling = C.ceiling()
  assert min(v for k, v in ceiling.items() if k != "class") > 0.9, ceiling
  assert ceiling["class"] > 0.8, ceiling
  assert C.ceiling(16)["pattern"] < 0.5  # nothing to read at 16x16
