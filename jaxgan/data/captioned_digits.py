"""captioned_digits: an embedded, offline text-to-image data set drawn from scikit-learn's digits.

Each image is one of the 8x8 UCI digits, smoothly upsampled, deskewed by its image moments and
drawn again at 64x64 RGB with attributes chosen at random (seeded), and ten captions built from
those attributes, like the ten captions per image of CUB:

  class       0..9, the source digit's label ("seven")
  colour      stroke colour, one of PALETTE (8 colours)
  background  background colour, one of PALETTE; low-contrast (colour, background) pairs are
              never drawn: ALLOWED_PAIRS keeps the 42 of 56 ordered pairs at least MIN_CONTRAST
              apart in RGB and MIN_LUMA_CONTRAST in luma
  thickness   0 thin / 1 thick: the upsampled glyph's mask eroded / dilated (morphology at the
              canonical 32x32 glyph, so "thick" means thick relative to the digit's size)
  slant       0 left / 1 upright / 2 right: a horizontal shear of +-SHEAR applied after the
              source digit is deskewed (so "upright" digits are upright whatever the writer did)
  size        0 small (glyph box 22 px) / 1 large (36 px)
  position    0..8, a 3x3 grid, row-major: top-left, top, top-right, left, centre, right,
              bottom-left, bottom, bottom-right
  pattern     0 plain / 1 stripes / 2 dots: a zero-mean, +-PATTERN_AMPLITUDE grey-level
              background texture of period 4 px. Averaged over aligned 4x4 blocks (what a 64->16
              area downscale does) it vanishes exactly, so a 16x16 Stage-I image cannot show it
              while a 64x64 Stage-II one can.

Captions: several templates; class is always named, every other attribute is mentioned with
probability MENTION_PROB per caption (so "a red seven" happens); `mentions[attr]` (N, 10) bool
says which captions name which attribute. Synonyms ("large"/"big", "thick"/"bold", ...) vary
the wording. Words are lower case, punctuation separate tokens, split on spaces.

Splits, by source digit: 'train' renders each of the 1438 digits of
`jaxgan.data.embedded.digits_arrays('train')` RENDERS['train'] = 5 times with independent
attributes (7190 images); 'test' renders each of its 359 held-out digits 3 times (1077 images), so
no test source digit is ever seen in training. `source_index` is the index of the source digit in
`digits_arrays(split)`.

The arrays are generated on first use (about 15 s) and cached as an .npz under $JAXGAN_CACHE
(default ~/.cache/jaxgan) named by VERSION; bump VERSION when rendering or captions change.

As a training data set (`load`, data.name='captioned_digits'), an example is
  {'image': float32 (S, S, 3) in [-1, 1] (S = data.image_size; 64 is the native size, smaller
            sizes are 2x2/4x4... area averages, so the pattern is gone at 16),
   'embedding': float32 (1024,) the embedding of one of the image's ten captions,
   'label': int32 the digit class}
The source has len = 10 x number of images: example i is image i // 10 with caption i % 10.
The engine's seeded permutation of all (image, caption) pairs is what picks "one random caption of
the ten per step", deterministically and resumably (each pair once per pass; the marginal is the
reference code's uniform image, uniform caption). data.text_encoder picks the embeddings: 'gru_cca'
(the trained bidirectional GRU of jaxgan.text.encoder, in canonical coordinates), 'gru' (its raw
outputs, what runs before the projection were trained on) or 'multihot' (the ablation).
data.backgrounds, a comma-separated list of COLOUR_NAMES ('' = all), keeps only the images on
those background colours: the experiment that tells a GAN's trouble with the eight background
fields from its trouble with the digit (docs/text_to_image.md). It filters both splits as
training and `load` read them; StackGAN's sample grids and its captioned evaluation still take
their captions from the whole test split (jaxgan.text.encoder.test_prompts).
data.wrong_caption 'class_swap' or 'mixed' adds 'wrong_embedding' to each example: the embedding
of the same caption with its digit word changed to another digit (`class_swapped`, drawn once
per caption, seeded), StackGAN's mismatched text that differs from the image in the class alone.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import pathlib

import numpy as np
from scipy import ndimage

from jaxgan.data.base import DataInfo
from jaxgan.data.registry import register
from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.errors import JaxganError

VERSION = "captioned_digits-v1"
SIZE = 64
CAPTIONS_PER_IMAGE = 10
EMBEDDING_DIM = 1024
RENDERS = {"train": 5, "test": 3}
SPLITS = ("train", "test")
SEED = 9

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COLOUR_NAMES = ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")
# Every channel kept within [35, 225] so the +-27 dot texture never clips (clipping would give
# the texture a non-zero mean, visible after downscaling).
PALETTE = np.array([
    (205, 45, 45), (45, 160, 70), (50, 85, 210), (225, 205, 45),
    (140, 60, 180), (225, 130, 40), (225, 225, 225), (35, 35, 35)], np.float32)
THICKNESS_NAMES = ("thin", "thick")
SLANT_NAMES = ("left", "upright", "right")
SIZE_NAMES = ("small", "large")
POSITION_NAMES = ("top left", "top", "top right", "left", "centre", "right", "bottom left",
                  "bottom", "bottom right")
PATTERN_NAMES = ("plain", "stripes", "dots")

ATTRIBUTES = ("class", "colour", "background", "thickness", "slant", "size", "position",
              "pattern")
NUM_VALUES = {"class": 10, "colour": len(COLOUR_NAMES), "background": len(COLOUR_NAMES),
              "thickness": 2, "slant": 3, "size": 2, "position": 9, "pattern": 3}

SHEAR = 0.35 # x shift per unit of height, for the left / right slants
GLYPH = 32  # canonical glyph resolution (the 8x8 digit upsampled 4x)
GLYPH_EXTENT = {0: 22.0, 1: 36.0}  # size -> drawn box of the canonical glyph, pixels
MARGIN = 2.0
PATTERN_PERIOD = 4
PATTERN_AMPLITUDE = 18.0  # grey levels; dots go to +1.5x, the rest of the dot cell to -0.5x
MENTION_PROB = 0.7
MIN_CONTRAST = 110.0  # Euclidean RGB distance below which a colour pair is left out
MIN_LUMA_CONTRAST = 25.0  # and difference of ITU-R 601 luma (grey levels)


def _luma(rgb: np.ndarray) -> np.ndarray:
  return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _allowed_pairs() -> tuple[tuple[int, int], ...]:
  """(colour, background) pairs far enough apart in RGB and in brightness to read."""
  pairs = []
  for fg in range(len(PALETTE)):
    for bg in range(len(PALETTE)):
      distance = float(np.linalg.norm(PALETTE[fg] - PALETTE[bg]))
      luma = abs(float(_luma(PALETTE[fg] - PALETTE[bg])))
      if fg != bg and distance >= MIN_CONTRAST and luma >= MIN_LUMA_CONTRAST:
        pairs.append((fg, bg))
  return tuple(pairs)


ALLOWED_PAIRS = _allowed_pairs()


# ------------------------------------------------------------------ rendering


def pattern_texture(pattern: int, size: int = SIZE) -> np.ndarray:
  """(size, size) float32 zero-mean texture in grey levels: plain 0, stripes, dots."""
  y, x = np.mgrid[:size, :size]
  if pattern == 0:
    return np.zeros((size, size), np.float32)
  if pattern == 1:  # diagonal stripes, 2 px on / 2 px off along x + y
    return np.where((x + y) % PATTERN_PERIOD < PATTERN_PERIOD // 2, 1.0, -1.0).astype(
        np.float32) * PATTERN_AMPLITUDE
  if pattern == 2:  # a 2x2 dot in every 4x4 cell: 4 pixels at +1.5a, 12 at -0.5a, mean 0
    dot = (x % PATTERN_PERIOD < 2) & (y % PATTERN_PERIOD < 2)
    return np.where(dot, 1.5, -0.5).astype(np.float32) * PATTERN_AMPLITUDE
  raise ValueError(f"unknown pattern {pattern}")


def canonical_glyph(digit: np.ndarray, thickness: int) -> tuple[np.ndarray, np.ndarray]:
  """An 8x8 digit in [0, 1] -> (coverage (32, 32) in [0, 1], 2x2 deskew matrix in (row, col)).

  Upsampled 4x by a cubic spline, thresholded at 0.5 to a mask, eroded by a 3x3 square (thin;
  by a cross where the square would leave under 30% of the stroke) or dilated by a cross
  (thick), and softened (Gaussian, sigma 0.8) for antialiased edges. The deskew matrix maps a
  (row, col) offset from the glyph's centroid to its deskewed offset: col' = col - skew * row,
  skew = cov(row, col) / var(row) of the upsampled intensities.
  """
  big = ndimage.zoom(np.pad(digit, 1), 40 / 10, order=3, grid_mode=True, mode="grid-constant")
  big = np.clip(big[4:-4, 4:-4], 0.0, 1.0)  # the pad's 1 px is 4 px at this scale
  mask = big > 0.5
  if thickness == 0:
    thin = ndimage.binary_erosion(mask, np.ones((3, 3), bool))
    mask = thin if thin.sum() >= 0.3 * mask.sum() else ndimage.binary_erosion(mask)
  else:
    mask = ndimage.binary_dilation(mask)
  coverage = np.clip(ndimage.gaussian_filter(mask.astype(np.float32), 0.8) * 1.6 - 0.3, 0, 1)
  rows, cols = np.mgrid[:GLYPH, :GLYPH].astype(np.float64)
  weight = big / max(big.sum(), 1e-6)
  r0, c0 = (weight * rows).sum(), (weight * cols).sum()
  var_r = (weight * (rows - r0) ** 2).sum()
  cov_rc = (weight * (rows - r0) * (cols - c0)).sum()
  skew = cov_rc / max(var_r, 1e-6)
  deskew = np.array([[1.0, 0.0], [-skew, 1.0]])
  return coverage.astype(np.float32), deskew


def render(digit: np.ndarray, colour: int, background: int, thickness: int, slant: int,
           size: int, position: int, pattern: int) -> np.ndarray:
  """One 64x64 RGB uint8 image of an 8x8 digit (float in [0, 1]) with the given attributes."""
  coverage, deskew = canonical_glyph(digit, thickness)
  # The glyph's centroid (of its coverage) goes to the position's centre.
  rows, cols = np.mgrid[:GLYPH, :GLYPH].astype(np.float64)
  mass = max(coverage.sum(), 1e-6)
  centroid = np.array([(coverage * rows).sum(), (coverage * cols).sum()]) / mass
  scale = GLYPH_EXTENT[size] / GLYPH
  shear = np.array([[1.0, 0.0], [-(slant - 1) * SHEAR, 1.0]])  # right: top (row < 0) moves right
  forward = shear @ (scale * deskew)  # glyph offset -> output offset
  reach = (SIZE - GLYPH_EXTENT[size]) / 2 - MARGIN  # how far off-centre the grid's cells sit
  row_cell, col_cell = divmod(position, 3)
  centre = np.array([SIZE / 2 - 0.5 + (row_cell - 1) * reach,
                     SIZE / 2 - 0.5 + (col_cell - 1) * reach])
  inverse = np.linalg.inv(forward)
  # affine_transform maps output coordinates o to input ones: i = inverse @ o + offset.
  offset = centroid - inverse @ centre
  alpha = ndimage.affine_transform(coverage, inverse, offset, output_shape=(SIZE, SIZE),
                                   order=1, mode="constant", cval=0.0)
  alpha = np.clip(alpha, 0.0, 1.0)[..., None]
  ground = PALETTE[background][None, None, :] + pattern_texture(pattern)[..., None]
  image = alpha * PALETTE[colour][None, None, :] + (1.0 - alpha) * ground
  return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ captions

_SYNONYMS = {
    "small": ("small", "little", "tiny"), "large": ("large", "big"),
    "thin": ("thin", "thinly drawn", "fine"), "thick": ("thick", "bold", "heavy"),
    "stripes": ("striped", "stripy"), "dots": ("dotted", "spotted"), "plain": ("plain", "flat"),
}
_SLANT_PHRASES = {
    "left": ("slanted to the left", "leaning left", "tilted left"),
    "upright": ("upright", "standing straight", "not slanted"),
    "right": ("slanted to the right", "leaning right", "tilted right"),
}
_POSITION_PHRASES = {
    "top left": ("in the top left corner", "at the top left"),
    "top": ("at the top", "in the top middle"),
    "top right": ("in the top right corner", "at the top right"),
    "left": ("on the left", "at the middle left"),
    "centre": ("in the centre", "in the middle"),
    "right": ("on the right", "at the middle right"),
    "bottom left": ("in the bottom left corner", "at the bottom left"),
    "bottom": ("at the bottom", "in the bottom middle"),
    "bottom right": ("in the bottom right corner", "at the bottom right"),
}


def _join(parts: list[str]) -> str:
  parts = [p for p in parts if p]
  if len(parts) <= 1:
    return "".join(parts)
  return " , ".join(parts[:-1]) + " and " + parts[-1]


def caption(attrs: dict[str, int], mention: dict[str, bool], template: int,
            rng: np.random.Generator) -> str:
  """One caption of an image; attributes with mention[attr] False are left out."""
  pick = lambda options: options[rng.integers(len(options))]
  say = lambda attr, text: text if mention[attr] else ""
  digit = DIGIT_WORDS[attrs["class"]]
  colour = say("colour", COLOUR_NAMES[attrs["colour"]])
  size = say("size", pick(_SYNONYMS[SIZE_NAMES[attrs["size"]]]))
  thick = say("thickness", pick(_SYNONYMS[THICKNESS_NAMES[attrs["thickness"]]]))
  slant = say("slant", pick(_SLANT_PHRASES[SLANT_NAMES[attrs["slant"]]]))
  place = say("position", pick(_POSITION_PHRASES[POSITION_NAMES[attrs["position"]]]))
  bg = say("background", COLOUR_NAMES[attrs["background"]])
  pattern = say("pattern", pick(_SYNONYMS[PATTERN_NAMES[attrs["pattern"]]]))
  words = lambda *parts: " ".join(p for p in parts if p)
  ground = words(bg, pattern, "background") if (bg or pattern) else ""
  if template == 0:  # a big thick red seven slanted to the left at the top on a blue striped bg
    text = words("a", size, thick, colour, digit, slant, place, "on a" if ground else "", ground)
  elif template == 1:  # a blue striped background with a small red seven ...
    text = words("a" if ground else "", ground, "with" if ground else "", "a", size, thick,
                 colour, digit, slant, place)
  elif template == 2:  # the digit seven in red , small and thick , leaning left ...
    text = words("the digit", digit, "in " + colour if colour else "",
                 ", " + _join([size, thick]) if (size or thick) else "",
                 ", " + slant if slant else "", ", " + place if place else "",
                 ", " + words("the background is", bg, pattern) if ground else "")
  else:  # this number is a seven . it is red , big ...
    traits = _join([colour, size, thick, slant])
    text = words("this number is a", digit, ". it is " + traits if traits else "",
                 ". it is " + place if place else "", ". the background is " + words(bg, pattern)
                 if ground else "")
  tokens = text.split()
  tokens = ["an" if t == "a" and n[0] in "aeiou" else t for t, n in zip(tokens, tokens[1:] + [""])]
  return " ".join(tokens)


# ------------------------------------------------------------------ the data set


def _sample_attributes(labels: np.ndarray, renders: int, rng: np.random.Generator):
  num = len(labels) * renders
  pairs = np.array(ALLOWED_PAIRS)[rng.integers(len(ALLOWED_PAIRS), size=num)]
  attrs = {
      "class": np.repeat(labels, renders).astype(np.int32),
      "colour": pairs[:, 0].astype(np.int32), "background": pairs[:, 1].astype(np.int32),
  }
  for name in ("thickness", "slant", "size", "position", "pattern"):
    attrs[name] = rng.integers(NUM_VALUES[name], size=num).astype(np.int32)
  return attrs


def generate(split: str, num_sources: int | None = None) -> dict:
  """Renders a split from scratch (no cache); num_sources, a prefix of the sources, for tests."""
  if split not in SPLITS:
    raise JaxganError(f"unknown captioned_digits split {split!r} (expected train or test)")
  digits, labels = digits_arrays(split)
  if num_sources is not None:
    digits, labels = digits[:num_sources], labels[:num_sources]
  digits = (digits[..., 0] + 1.0) / 2.0
  renders = RENDERS[split]
  rng = np.random.default_rng((SEED, SPLITS.index(split)))
  attrs = _sample_attributes(labels, renders, rng)
  source_index = np.repeat(np.arange(len(labels)), renders).astype(np.int32)
  images = np.stack([
      render(digits[s], *(int(attrs[a][i]) for a in ATTRIBUTES[1:]))
      for i, s in enumerate(source_index)])
  mentions = {a: rng.random((len(images), CAPTIONS_PER_IMAGE)) < MENTION_PROB
              for a in ATTRIBUTES}
  mentions["class"][:] = True
  captions = []
  for i in range(len(images)):
    one = {a: int(attrs[a][i]) for a in ATTRIBUTES}
    captions.append([
        caption(one, {a: bool(mentions[a][i, j]) for a in ATTRIBUTES}, j % 4, rng)
        for j in range(CAPTIONS_PER_IMAGE)])
  return {"images": images, "captions": captions, "attributes": attrs,
          "mentions": mentions, "source_index": source_index}


# data.wrong_caption: StackGAN's mismatched text. 'other': another example's caption (the
# reference's); 'class_swap': the example's own caption with another digit word (batches carry
# 'wrong_embedding'); 'mixed': half the batch each.
WRONG_CAPTIONS = ("other", "class_swap", "mixed")
SWAP_SEED = 11  # the other digit of each class-swapped caption


def _with_articles(tokens: list[str]) -> list[str]:
  """'a' / 'an' by the next word's first letter (the captions' rule, both ways)."""
  return [("an" if n[:1] in tuple("aeiou") else "a") if t in ("a", "an") and n else t
          for t, n in zip(tokens, tokens[1:] + [""])]


def swap_digit_word(text: str, old: int, new: int) -> str:
  """The caption with its digit word (DIGIT_WORDS[old], named exactly once) replaced by
  DIGIT_WORDS[new], articles mended ("an eight" -> "a seven")."""
  tokens = text.split()
  where = [i for i, t in enumerate(tokens) if t == DIGIT_WORDS[old]]
  if len(where) != 1:
    raise JaxganError(f"caption {text!r} names {DIGIT_WORDS[old]!r} {len(where)} times")
  tokens[where[0]] = DIGIT_WORDS[new]
  return " ".join(_with_articles(tokens))


def class_swapped(split: str) -> dict:
  """Each caption of a split with its digit word changed to another digit, drawn once per
  caption (seeded): {'captions': N lists of 10 str, 'class': int32 (N, 10) the digit each now
  names}. These are the mismatched captions that differ from their image in the class alone
  (data.wrong_caption 'class_swap', jaxgan/train/stackgan.py)."""
  data = captioned_digits(split)
  num = len(data["images"])
  rng = np.random.default_rng((SWAP_SEED, SPLITS.index(split)))
  own = np.asarray(data["attributes"]["class"])[:, None]
  classes = ((own + rng.integers(1, 10, size=(num, CAPTIONS_PER_IMAGE))) % 10).astype(np.int32)
  captions = [[swap_digit_word(text, int(own[i, 0]), int(classes[i, j]))
               for j, text in enumerate(row)] for i, row in enumerate(data["captions"])]
  return {"captions": captions, "class": classes}


def cache_dir() -> pathlib.Path:
  """$JAXGAN_CACHE, or ~/.cache/jaxgan when unset."""
  return pathlib.Path(os.environ.get("JAXGAN_CACHE") or "~/.cache/jaxgan").expanduser()


def cache_path(split: str) -> pathlib.Path:
  return cache_dir() / f"{VERSION}-{split}.npz"


def _to_npz(data: dict) -> dict:
  flat = {"images": data["images"], "source_index": data["source_index"],
          "captions": np.array(data["captions"], dtype=object).astype(str)}
  flat.update({f"attr_{a}": v for a, v in data["attributes"].items()})
  flat.update({f"mention_{a}": v for a, v in data["mentions"].items()})
  return flat


def _from_npz(flat) -> dict:
  return {"images": flat["images"], "source_index": flat["source_index"],
          "captions": [list(map(str, row)) for row in flat["captions"]],
          "attributes": {a: flat[f"attr_{a}"] for a in ATTRIBUTES},
          "mentions": {a: flat[f"mention_{a}"] for a in ATTRIBUTES}}


@functools.lru_cache(maxsize=None)
def _cached(path: str, split: str) -> dict:
  path = pathlib.Path(path)
  if path.exists():
    try:
      with np.load(path, allow_pickle=False) as flat:
        return _from_npz(flat)
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: render again
      logging.warning("unreadable captioned_digits cache %s; rendering again", path)
  data = generate(split)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **_to_npz(data))
    os.replace(tmp, path)
  except OSError as error:
    logging.warning("could not cache captioned_digits at %s: %s", path, error)
  return data


def captioned_digits(split: str) -> dict:
  """The rendered split (from the cache, else rendered and cached):

  {'images': uint8 (N, 64, 64, 3), 'captions': list of N lists of 10 str,
   'attributes': {attr: int32 (N,)} for attr in ATTRIBUTES,
   'mentions': {attr: bool (N, 10)} which captions name the attribute,
   'source_index': int32 (N,) index of the source digit in digits_arrays(split)}
  Treat the arrays as read-only: they are shared between calls.
  """
  if split not in SPLITS:
    raise JaxganError(f"unknown captioned_digits split {split!r} (expected train or test)")
  return _cached(str(cache_path(split)), split)


def to_model_images(images: np.ndarray, size: int) -> np.ndarray:
  """uint8 (N, 64, 64, 3) -> float32 (N, size, size, 3) in [-1, 1]; size must divide 64.

  Downscaling is an average over aligned (64/size)^2 blocks, so the period-4 pattern averages to
  exactly nothing at 16x16 and below.
  """
  if size <= 0 or SIZE % size:
    raise JaxganError(f"captioned_digits image_size must divide {SIZE}, got {size}")
  factor = SIZE // size
  x = images.astype(np.float32).reshape(len(images), size, factor, size, factor, 3)
  return (x.mean(axis=(2, 4)) / 127.5 - 1.0).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class TextDataInfo(DataInfo):
  """DataInfo of a text-to-image set: examples also carry 'embedding' (embedding_dim,)."""

  embedding_dim: int = EMBEDDING_DIM
  captions_per_image: int = CAPTIONS_PER_IMAGE


class CaptionPairSource:
  """Random access to (image, caption) pairs: example i is image i // k with caption i % k.

  `images` (N, S, S, 3) float32 in [-1, 1], or uint8 (converted a batch at a time, so the
  64x64 train split takes 88 MB instead of 353), `embeddings` (N, k, D); `extra` arrays of N
  rows ride along; `wrong_embeddings` (N, k, D), where given, are each caption's mismatched
  version ('wrong_embedding' in the batch).
  """

  def __init__(self, images: np.ndarray, embeddings: np.ndarray, extra: dict | None = None,
               wrong_embeddings: np.ndarray | None = None):
    self.images, self.embeddings = images, embeddings
    self.extra = extra or {}
    self.wrong_embeddings = wrong_embeddings  # (N, k, D) or None
    self.per_image = embeddings.shape[1]

  def __len__(self):
    return len(self.images) * self.per_image

  def __getitem__(self, index):
    return {k: v[0] for k, v in self.get_batch(np.array([index])).items()}

  def get_batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    indices = np.asarray(indices)
    image, cap = indices // self.per_image, indices % self.per_image
    images = self.images[image]
    if images.dtype == np.uint8:
      images = images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    batch = {"image": images, "embedding": self.embeddings[image, cap]}
    if self.wrong_embeddings is not None:
      batch["wrong_embedding"] = self.wrong_embeddings[image, cap]
    batch.update({k: v[image] for k, v in self.extra.items()})
    return batch


def background_indices(backgrounds: str) -> tuple[int, ...]:
  """data.backgrounds ('red,blue'; '' = all) -> the sorted palette indices it names."""
  if not backgrounds.strip():
    return tuple(range(len(COLOUR_NAMES)))
  names = [name.strip() for name in backgrounds.split(",")]
  unknown = [name for name in names if name not in COLOUR_NAMES]
  if unknown:
    raise JaxganError(f"data.backgrounds: unknown colour {unknown[0]!r} (expected a "
                      f"comma-separated list of {', '.join(COLOUR_NAMES)})")
  return tuple(sorted({COLOUR_NAMES.index(name) for name in names}))


@functools.lru_cache(maxsize=8)
def _source(split: str, size: int, encoder: str,
            backgrounds: tuple[int, ...] = tuple(range(len(COLOUR_NAMES))),
            class_swapped_captions: bool = False) -> CaptionPairSource:
  from jaxgan.text import encoder as text  # pylint: disable=g-import-not-at-top

  data = captioned_digits(split)
  embeddings = text.caption_embeddings(split, encoder)
  keep = np.isin(data["attributes"]["background"], backgrounds)
  images, labels = data["images"][keep], data["attributes"]["class"][keep]
  images = images if size == SIZE else to_model_images(images, size)
  wrong = (text.class_swapped_embeddings(split, encoder)[keep] if class_swapped_captions
           else None)
  return CaptionPairSource(images, embeddings[keep], {"label": labels}, wrong)


@register("captioned_digits")
def load(data_config, split: str = "train"):
  """(source, TextDataInfo) for data.name='captioned_digits'; see the module docstring."""
  size = data_config.image_size
  channels = data_config.get("channels", 3) if hasattr(data_config, "get") else 3
  if channels != 3:
    raise JaxganError(f"captioned_digits is RGB: data.channels must be 3, got {channels}")
  encoder = (data_config.get("text_encoder", "gru_cca") if hasattr(data_config, "get")
             else "gru_cca")
  backgrounds = background_indices(data_config.get("backgrounds", "") if hasattr(
      data_config, "get") else "")
  wrong_caption = (data_config.get("wrong_caption", "other") if hasattr(data_config, "get")
                   else "other")
  if wrong_caption not in WRONG_CAPTIONS:
    raise JaxganError(f"data.wrong_caption must be one of {', '.join(WRONG_CAPTIONS)}, got "
                      f"{wrong_caption!r}")
  source = _source(split, size, encoder, backgrounds, wrong_caption != "other")
  return source, TextDataInfo("captioned_digits", "images", (size, size, 3), DIGITS_NUM_CLASSES)
