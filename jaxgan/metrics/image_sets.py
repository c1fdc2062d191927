"""Image sets to score, read as uint8 batches at their own resolution: a folder, an .npz of samples,
a tfds data set, or an array in memory.

Each set is read lazily in batches (50k images at 256x256 would not fit in memory at once), and
carries a key that names its content for the reference-statistics cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Callable, Iterator

import numpy as np

from jaxgan.errors import JaxganError

IMAGE_EXTENSIONS = (".bmp", ".jpg", ".jpeg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")


@dataclasses.dataclass(frozen=True)
class ImageSet:
  """`count` images; `batches(batch_size)` yields uint8 (n, H, W, 1 or 3) arrays in a fixed order."""
  key: str
  count: int
  batches: Callable[[int], Iterator[np.ndarray]]


def _rgb_uint8(pixels: np.ndarray, where: str) -> np.ndarray:
  pixels = np.asarray(pixels)
  if pixels.dtype != np.uint8:
    raise JaxganError(f"{where}: images must be uint8, got {pixels.dtype}")
  if pixels.ndim == 2:
    pixels = pixels[..., None]
  if pixels.ndim != 3 or pixels.shape[-1] not in (1, 3, 4):
    raise JaxganError(f"{where}: not an HxWxC image with 1, 3 or 4 channels: {pixels.shape}")
  return pixels[..., :3]  # an alpha channel is dropped, as PIL's convert('RGB') does


def _limit(count: int, num: int | None, where: str) -> int:
  if num is None:
    return count
  if num < 1:
    raise JaxganError(f"--num must be >= 1, got {num}")
  if num > count:
    raise JaxganError(f"{where} has {count} images, fewer than the {num} asked for")
  return num


def array_images(images, key: str = "array", num: int | None = None) -> ImageSet:
  """uint8 (N, H, W, 1 or 3) images in memory."""
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
    raise JaxganError(f"{key}: images must be uint8 (N, H, W, 1 or 3), got {images.dtype} "
                      f"{images.shape}")
  count = _limit(len(images), num, key)

  def batches(batch_size: int):
    for start in range(0, count, batch_size):
      yield images[start:min(start + batch_size, count)]
  return ImageSet(key, count, batches)


def npz_images(path: str, num: int | None = None) -> ImageSet:
  """The `samples` array of an .npz, as `jaxgan sample` writes (uint8 (N, H, W, C))."""
  if not os.path.isfile(path):
    raise JaxganError(f"no such file: {path}")
  try:
    with np.load(path, allow_pickle=False) as data:
      if "samples" not in data.files:
        raise JaxganError(f"{path} has no 'samples' array (arrays: {', '.join(data.files)})")
      samples = data["samples"]
  except (OSError, ValueError) as e:
    raise JaxganError(f"{path} is not a readable .npz: {e}") from e
  stat = os.stat(path)
  return array_images(samples, f"npz:{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}", num)


def _list_folder(path: str) -> list[str]:
  files = []
  for root, dirs, names in os.walk(path):
    dirs.sort()
    files += [os.path.join(root, name) for name in sorted(names)
              if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")]
  return files


def folder_images(path: str, num: int | None = None) -> ImageSet:
  """Every image file under `path` (recursively, sorted by path), decoded to RGB like
  pytorch-fid's ImagePathDataset (PIL's convert('RGB')). All must share one size."""
  if not os.path.isdir(path):
    raise JaxganError(f"no such folder: {path}")
  files = _list_folder(path)
  if not files:
    raise JaxganError(f"{path} holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
  count = _limit(len(files), num, path)
  files = files[:count]
  listing = hashlib.sha256("\n".join(
      f"{os.path.relpath(f, path)}:{os.path.getsize(f)}" for f in files).encode()).hexdigest()
  from PIL import Image  # pylint: disable=g-import-not-at-top

  def load(file: str) -> np.ndarray:
    try:
      with Image.open(file) as image:
        return np.asarray(image.convert("RGB"))
    except OSError as e:
      raise JaxganError(f"cannot read image {file}: {e}") from e

  first_shape = load(files[0]).shape

  def batches(batch_size: int):
    for start in range(0, count, batch_size):
      batch = [load(f) for f in files[start:start + batch_size]]
      for file, image in zip(files[start:], batch):
        if image.shape != first_shape:
          raise JaxganError(f"{file} is {image.shape[1]}x{image.shape[0]}, but {files[0]} is "
                            f"{first_shape[1]}x{first_shape[0]}: the images of a set must share "
                            "one size")
      yield np.stack(batch)
  return ImageSet(f"folder:{os.path.abspath(path)}:{listing[:16]}", count, batches)


def tfds_images(spec: str, num: int | None = None, data_dir: str | None = None) -> ImageSet:
  """'NAME' or 'NAME:SPLIT' (default split 'train') of a tfds data set prepared as ArrayRecord."""
  name, _, split = spec.partition(":")
  split = split or "train"
  from jaxgan.data.tfds_source import TfdsSource  # pylint: disable=g-import-not-at-top
  # TfdsSource checks the set, split and image feature with one-line errors; its resize is not
  # used: the raw records below keep each image's own resolution.
  source = TfdsSource(name, split, data_dir, 64, 3, label_key=None)
  count = _limit(len(source), num, f"tfds:{spec}")
  where = f"tfds:{name}"

  def batches(batch_size: int):
    for start in range(0, count, batch_size):
      yield np.stack([_rgb_uint8(source.source[i][source.image_key], where)
                      for i in range(start, min(start + batch_size, count))])
  return ImageSet(f"tfds:{name}:{split}", count, batches)


def open_image_set(spec: str, num: int | None = None) -> ImageSet:
  """A folder, `tfds:NAME[:SPLIT]` or an .npz of samples, by its command-line spelling."""
  if spec.startswith("tfds:"):
    return tfds_images(spec[len("tfds:"):], num)
  if spec.endswith(".npz"):
    return npz_images(spec, num)
  if os.path.isdir(spec):
    return folder_images(spec, num)
  raise JaxganError(f"{spec} is neither a folder, an .npz file nor tfds:NAME")
