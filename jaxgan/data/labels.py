"""labels (embedded, paired): synthetic facade label maps -> rendered facades, in the spirit of
pix2pix's labels -> facades (CMP Facades).

Each example is one seeded random building front, SIZE x SIZE pixels, made of rectangles of
NUM_CLASSES classes:

  0 background  the sky above the roof line: a smooth vertical gradient of a random blue
  1 wall        brick: courses of BRICK_HEIGHT rows with light mortar lines, staggered joints
                every BRICK_WIDTH columns, each brick its own brightness
  2 window      dark glass with a diagonal reflection, a light frame and a mullion cross
  3 door        wooden planks: vertical grooves every PLANK_WIDTH columns, a lighter top rail
  4 balcony     a railing: a bright top rail over dark vertical bars every 2 columns
  5 cornice     stone bands: a lit top edge, a shadowed bottom edge, fine horizontal fluting

A building has a roof line (sky above), a cornice under it, 3-4 floors (string courses between
them on half the buildings), a regular grid of 3-5 window columns, a door on the ground floor,
and on some buildings balconies (under single windows or along a whole floor).

The input is the label map as a colour-coded image (each class one flat colour of PALETTE, as
the facades' label images are); the target the rendered facade. What the map does not say, the
renderer draws at random per building and per region: colours (a tint per building and per
instance), texture phases (where mortar lines, joints, planks and bars fall), brick-by-brick
shading, window frames' colour, and pixel noise (NOISE grey levels). So the map fixes where each
texture goes but not its exact pixels: a generator trained on L1 alone can only predict their
average, a blur, while a texture has to be synthesised to look real.

Splits: 'train' holds NUM_EXAMPLES['train'] buildings, 'test' NUM_EXAMPLES['test'], each
building drawn from its own generator seeded by (SEED, split, index), so the splits are fixed,
disjoint streams, identical on every machine. The facades are stored as uint8 (as photos are),
rendered on first use (about 5 s) and cached as an .npz under $JAXGAN_CACHE (default
~/.cache/jaxgan) named by VERSION; bump VERSION when the layouts or the rendering change.

Sizes: SIZE (64) is native. data.image_size may be a divisor of 64 down to 8: the facade is then
the 64x64 render area-averaged, and the map sampled at each block's centre pixel (class maps
must stay discrete). The pix2pix paper's facades are 256x256.
"""

from __future__ import annotations

import functools
import logging
import os
import pathlib

import numpy as np

from jaxgan.data.base import DataInfo
from jaxgan.data.captioned_digits import cache_dir
from jaxgan.data.pipeline import ArraySource
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError

VERSION = 1  # bump when the layouts or the rendering change (the segmenter's cache names it)
SIZE = 64
MIN_SIZE = 8
SEED = 11
SPLITS = ("train", "test")
NUM_EXAMPLES = {"train": 1000, "test": 200}

CLASS_NAMES = ("background", "wall", "window", "door", "balcony", "cornice")
NUM_CLASSES = len(CLASS_NAMES)
BACKGROUND, WALL, WINDOW, DOOR, BALCONY, CORNICE = range(NUM_CLASSES)
# The label map's colour code, far apart in RGB so that a decoded map survives resizing.
PALETTE = np.array([
    (0, 0, 150),  # background: dark blue
    (0, 90, 255),  # wall: blue
    (0, 230, 230),  # window: cyan
    (255, 170, 0),  # door: orange
    (160, 255, 60),  # balcony: yellow-green
    (230, 30, 30),  # cornice: red
], np.float32)

BRICK_HEIGHT = 4
BRICK_WIDTH = 8
PLANK_WIDTH = 3
NOISE = 4.0  # std of per-pixel noise, grey levels

# Building colour schemes: (wall tints, grey levels 0-255). A building picks one and jitters it.
WALL_TINTS = np.array([(168, 74, 52), (190, 120, 80), (205, 185, 150), (150, 150, 140),
                       (180, 95, 70)], np.float32)


# ------------------------------------------------------------------ layout


def facade_layout(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, list]:
  """A random building front: its class map (size, size) uint8 and the instances painted, in
  painting order, as (class, y0, y1, x0, x1) rectangles (later ones cover earlier ones)."""
  classes = np.full((size, size), WALL, np.uint8)
  rects: list[tuple[int, int, int, int, int]] = []

  def paint(cls, y0, y1, x0, x1):
    y0, y1, x0, x1 = (int(np.clip(v, 0, size)) for v in (y0, y1, x0, x1))
    if y1 > y0 and x1 > x0:
      classes[y0:y1, x0:x1] = cls
      rects.append((cls, y0, y1, x0, x1))

  roof = int(rng.integers(3, 13))
  paint(BACKGROUND, 0, roof, 0, size)
  cornice_height = int(rng.integers(3, 5))
  paint(CORNICE, roof, roof + cornice_height, 0, size)
  top = roof + cornice_height
  num_floors = int(rng.integers(3, 5))
  floor_height = (size - top) // num_floors
  floor_tops = [top + k * floor_height for k in range(num_floors)]  # the last is the ground floor
  string_courses = rng.random() < 0.5
  num_columns = int(rng.integers(3, 6))
  pitch = size / num_columns
  window_width = max(3, int(round(pitch * rng.uniform(0.4, 0.62))))
  window_height = max(4, int(round(floor_height * rng.uniform(0.45, 0.65))))
  window_top = max(1, int(round(floor_height * rng.uniform(0.12, 0.3))))
  centres = [int(round(pitch * (j + 0.5))) for j in range(num_columns)]
  door_column = int(rng.integers(num_columns))
  balcony_mode = rng.choice(["none", "single", "floor"], p=[0.4, 0.35, 0.25])
  balcony_height = int(rng.integers(3, 5))
  balcony_floors = {k for k in range(num_floors - 1) if rng.random() < 0.6}
  for k, floor_top in enumerate(floor_tops):
    ground = k == num_floors - 1
    if string_courses and k > 0:
      paint(CORNICE, floor_top, floor_top + 2, 0, size)
    for j, centre in enumerate(centres):
      x0 = centre - window_width // 2
      if ground and j == door_column:
        door_width = window_width + 2
        paint(DOOR, floor_top + max(2, window_top - 1), size, centre - door_width // 2,
              centre - door_width // 2 + door_width)
        continue
      paint(WINDOW, floor_top + window_top, floor_top + window_top + window_height, x0,
            x0 + window_width)
    if balcony_mode != "none" and k in balcony_floors:
      bottom = floor_top + window_top + window_height + 1
      if balcony_mode == "floor":
        paint(BALCONY, bottom - balcony_height, bottom, 1, size - 1)
      else:
        for centre in centres:
          x0 = centre - window_width // 2 - 1
          paint(BALCONY, bottom - balcony_height, bottom, x0, x0 + window_width + 2)
  return classes, rects


# ------------------------------------------------------------------ rendering


def _tint(rng, base, spread):
  return np.clip(np.asarray(base, np.float32) + rng.uniform(-spread, spread, 3), 0, 255)


def render_facade(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
  """One building: (class map (size, size) uint8, image (size, size, 3) float32 in 0..255)."""
  classes, rects = facade_layout(rng, size)
  image = np.zeros((size, size, 3), np.float32)
  ys, xs = np.mgrid[0:size, 0:size]
  # Per-building choices every instance of a class shares (its "style"), jittered per instance.
  wall = _tint(rng, WALL_TINTS[rng.integers(len(WALL_TINTS))], 15)
  sky = _tint(rng, (150, 185, 230), 20)
  glass = _tint(rng, (55, 70, 105), 15)
  frame = _tint(rng, (225, 225, 215), 25)
  wood = _tint(rng, (115, 70, 35), 20)
  metal = _tint(rng, (70, 70, 75), 20)
  stone = _tint(rng, (215, 205, 185), 20)

  # The wall first, over the whole image (the other classes cover it): brick courses with mortar
  # lines, joints staggered by half a brick per course, each brick its own brightness.
  row_phase, col_phase = rng.integers(BRICK_HEIGHT), rng.integers(BRICK_WIDTH)
  course = (ys + row_phase) // BRICK_HEIGHT
  shifted = xs + col_phase + (course % 2) * (BRICK_WIDTH // 2)
  brick = course * (size // BRICK_WIDTH + 2) + shifted // BRICK_WIDTH
  shade = rng.uniform(-14, 14, brick.max() + 1)[brick]
  mortar = ((ys + row_phase) % BRICK_HEIGHT == 0) | (shifted % BRICK_WIDTH == 0)
  image[:] = wall + shade[..., None]
  image[mortar] = np.clip(wall * 0.45 + 130, 0, 255)

  for cls, y0, y1, x0, x1 in rects:
    h, w = y1 - y0, x1 - x0
    ry, rx = np.mgrid[0:h, 0:w]
    if cls == BACKGROUND:
      patch = sky + (ry / max(size // 4, 1) * 25.0)[..., None] * np.ones(3, np.float32)
    elif cls == CORNICE:
      base = _tint(rng, stone, 8)
      fluting = np.where((ry + rng.integers(2)) % 2 == 0, 12.0, -12.0)[..., None]
      patch = base + fluting
      patch[0] = np.clip(base + 35, 0, 255)  # lit top edge
      patch[-1] = base * 0.45  # shadow under the moulding
    elif cls == WINDOW:
      base = _tint(rng, glass, 10)
      # A diagonal reflection band, its position random per window.
      diagonal = (rx + ry + rng.integers(0, h + w)) % (h + w)
      patch = base + np.where(diagonal < max(2, (h + w) // 4), 45.0, 0.0)[..., None]
      border = (ry == 0) | (ry == h - 1) | (rx == 0) | (rx == w - 1)
      mullion = (rx == w // 2) | (ry == int(round(h * 0.4)))
      patch[border | (mullion if w >= 5 and h >= 6 else False)] = frame
    elif cls == DOOR:
      base = _tint(rng, wood, 12)
      groove = (rx + rng.integers(PLANK_WIDTH)) % PLANK_WIDTH == 0
      patch = base + np.where(groove, -35.0, 6.0)[..., None]
      patch[ry < 2] = np.clip(base + 40, 0, 255)  # the lintel / top rail
    elif cls == BALCONY:
      base = _tint(rng, metal, 10)
      bars = (rx + rng.integers(2)) % 2 == 0
      behind = image[y0:y1, x0:x1]  # the railing is open: what is behind shows between bars
      patch = np.where(bars[..., None], base, behind * 0.7)
      patch[0] = np.clip(base + 90, 0, 255)  # top rail
    image[y0:y1, x0:x1] = patch
  image += rng.normal(0.0, NOISE, image.shape)
  return classes, np.clip(image, 0, 255).astype(np.float32)


def colour_map(classes: np.ndarray) -> np.ndarray:
  """Class maps (..., H, W) ints -> colour-coded images (..., H, W, 3) float32 in [-1, 1]."""
  return PALETTE[np.asarray(classes)] / 127.5 - 1.0


def decode_map(images: np.ndarray) -> np.ndarray:
  """Colour-coded images (..., H, W, 3) in [-1, 1] -> class maps (..., H, W) int32: each pixel
  the nearest PALETTE colour (exact on an encoded map, robust to resizing's blending)."""
  rgb = (np.asarray(images, np.float32) + 1.0) * 127.5
  distances = np.sum(np.square(rgb[..., None, :] - PALETTE), axis=-1)
  return np.argmin(distances, axis=-1).astype(np.int32)


def generate(split: str, num: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Renders a split from scratch (no cache): (class maps (N, 64, 64) uint8, facades
  (N, 64, 64, 3) uint8); num, a prefix of the split, for tests."""
  if split not in SPLITS:
    raise JaxganError(f"the labels data set has splits 'train' and 'test', got {split!r}")
  index = SPLITS.index(split)
  maps, images = [], []
  for i in range(NUM_EXAMPLES[split] if num is None else num):
    classes, image = render_facade(np.random.default_rng((SEED, index, i)))
    maps.append(classes)
    images.append(np.round(image).astype(np.uint8))
  return np.stack(maps), np.stack(images)


def cache_path(split: str) -> pathlib.Path:
  return cache_dir() / f"labels-v{VERSION}-{split}.npz"


@functools.lru_cache(maxsize=None)
def _cached(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  path = pathlib.Path(path)
  if path.exists():
    try:
      with np.load(path, allow_pickle=False) as arrays:
        return arrays["maps"], arrays["images"]
    except Exception:  # pylint: disable=broad-except  # a damaged cache file: render again
      logging.warning("unreadable labels cache %s; rendering again", path)
  maps, images = generate(split)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")  # write, then rename: atomic
    np.savez_compressed(tmp, maps=maps, images=images)
    os.replace(tmp, path)
  except OSError as error:  # a read-only cache costs a rendering next time, nothing more
    logging.warning("could not cache the labels data set at %s: %s", path, error)
  return maps, images


def facades(split: str) -> tuple[np.ndarray, np.ndarray]:
  """Every building of a split at the native size, from the cache (else rendered and cached):
  (class maps (N, 64, 64) uint8, facades (N, 64, 64, 3) uint8). Shared: treat as read-only."""
  if split not in SPLITS:
    raise JaxganError(f"the labels data set has splits 'train' and 'test', got {split!r}")
  return _cached(str(cache_path(split)), split)


def to_model_images(images: np.ndarray) -> np.ndarray:
  """uint8 facades -> float32 in [-1, 1]."""
  return (np.asarray(images, np.float32) / 127.5 - 1.0).astype(np.float32)


def check_size(size) -> None:
  if not isinstance(size, (int, np.integer)) or size < MIN_SIZE or SIZE % size:
    sizes = [s for s in range(MIN_SIZE, SIZE + 1) if SIZE % s == 0]
    raise JaxganError(f"the labels data set renders at {SIZE}x{SIZE}; data.image_size must be "
                      f"one of {sizes}, got {size!r}")


def at_size(maps: np.ndarray, images: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
  """Native maps and float images (N, 64, 64, 3) at `size` (a divisor of 64): images
  area-averaged over k x k blocks, maps sampled at each block's centre pixel."""
  check_size(size)
  k = SIZE // size
  if k == 1:
    return maps, images
  images = images.reshape(len(images), size, k, size, k, 3).mean(axis=(2, 4), dtype=np.float32)
  return maps[:, k // 2::k, k // 2::k], images.astype(np.float32)


@functools.lru_cache(maxsize=4)
def _source(split: str, size: int) -> tuple[ArraySource, np.ndarray]:
  maps, images = facades(split)
  maps, images = at_size(maps, to_model_images(images), size)
  return ArraySource({"input": colour_map(maps).astype(np.float32), "target": images}), maps


def split_arrays(split: str, size: int = SIZE) -> dict[str, np.ndarray]:
  """{'classes': (N, S, S) int class maps, 'input': their colour codes, 'target': the facades}."""
  source, maps = _source(split, size)
  return {"classes": maps, **source.arrays}


@register("labels")
def load(data_config, split: str):
  size, channels = data_config.image_size, data_config.channels
  check_size(size)
  if channels != 3:
    raise JaxganError(f"the labels data set is colour (maps and facades): data.channels must be "
                      f"3, got {channels}")
  source, _ = _source(split, size)
  info = DataInfo("labels", "images", (size, size, 3), pairing="paired", shape_b=(size, size, 3))
  return source, info
