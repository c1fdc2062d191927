"""Pictures of what a generator makes: image grids and 2-D point scatters, as uint8 arrays/PNGs."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
  """float images in [-1, 1] -> uint8 in [0, 255] (the only place images become bytes)."""
  return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
  """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, ...) uint8 picture, C=1 kept as gray."""
  n, h, w, c = images.shape
  rows = -(-n // columns)
  grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    grid[pad + r * (h + pad):pad + r * (h + pad) + h,
         pad + col * (w + pad):pad + col * (w + pad) + w] = image
  return grid


def scatter_image(points: np.ndarray, modes: np.ndarray | None = None, size: int = 320,
                  extent: float | None = None) -> np.ndarray:
  """2-D samples (black) and the true modes (red) on a white (size, size, 3) uint8 canvas."""
  if extent is None:
    reference = modes if modes is not None else points
    extent = 1.35 * float(np.max(np.abs(reference))) + 1e-6
  canvas = np.full((size, size, 3), 255, np.uint8)

  def to_pixels(xy):
    pix = np.round((np.asarray(xy) / extent + 1.0) * 0.5 * (size - 1)).astype(int)
    keep = np.all((pix >= 0) & (pix < size), axis=1)
    return pix[keep]

  for x, y in to_pixels(points):
    canvas[size - 1 - y, x] = (0, 0, 0)
  if modes is not None:
    for x, y in to_pixels(modes):
      canvas[max(size - 3 - y, 0):size + 2 - y, max(x - 2, 0):x + 3] = (220, 30, 30)
  return canvas


def save_png(array: np.ndarray, path: str):
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[:, :, 0]
  tmp = path + ".tmp.png"
  Image.fromarray(array).save(tmp)
  os.replace(tmp, path)  # a reader never sees half a PNG
