"""Turning stored images (uint8, any size, gray/RGB/RGBA) into model images.

A model image is float32 (S, S, C) in [-1, 1] with C = 1 or 3. Every image data source (folders,
tfds) goes through `to_model_image`, so they all crop, resize and convert colour the same way.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from jaxgan.errors import JaxganError

FITS = ("center_crop", "resize")
CHANNELS = (1, 3)

# Bicubic in Pillow is antialiased when downscaling (its kernel widens with the scale factor),
# which is why clean-FID (Parmar et al. 2022) recommends PIL bicubic over framework resizers; it
# also rings less than Lanczos-3 on hard edges.
RESAMPLE = Image.Resampling.BICUBIC


def check_image_options(image_size: int, channels: int, fit: str) -> None:
  """Raises JaxganError (one line) for an image size, channel count or fit we can't make."""
  is_int = isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool)
  if not is_int or image_size < 1:
    raise JaxganError(f"image_size must be a positive integer, got {image_size!r}")
  if channels not in CHANNELS:
    raise JaxganError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
  if fit not in FITS:
    raise JaxganError(f"fit must be 'center_crop' or 'resize', got {fit!r}")


def _as_gray_or_rgb(image: np.ndarray) -> Image.Image:
  """A PIL image in mode 'L' or 'RGB' from a uint8 HxW, HxWx1, HxWx3 or HxWx4 array."""
  if image.dtype != np.uint8:
    raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  if image.ndim == 2:
    return Image.fromarray(image)
  if image.ndim == 3 and image.shape[-1] == 3:
    return Image.fromarray(image)
  if image.ndim == 3 and image.shape[-1] == 4:
    # RGBA is composited on white rather than having its alpha dropped: transparent pixels often
    # store arbitrary colour (black or leftovers), while the image is meant to be seen on a page.
    rgba = Image.fromarray(image)
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")
  raise ValueError(f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, got shape {image.shape}")


def to_model_image(image: np.ndarray, image_size: int, channels: int, fit: str) -> np.ndarray:
  """uint8 HxW / HxWx1 / HxWx3 / HxWx4 -> float32 (image_size, image_size, channels) in [-1, 1].

  fit='center_crop' keeps the aspect ratio: it crops the largest centred square, then resizes.
  fit='resize' squashes the whole image to a square. Resizing is Pillow bicubic (see RESAMPLE).
  Gray -> RGB repeats the gray value; RGB -> gray is Pillow's ITU-R 601 luma
  (0.299 R + 0.587 G + 0.114 B). RGBA is composited on white first.
  """
  check_image_options(image_size, channels, fit)
  pil = _as_gray_or_rgb(np.asarray(image))
  pil = pil.convert("L" if channels == 1 else "RGB")
  if fit == "center_crop":
    width, height = pil.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    pil = pil.crop((left, top, left + side, top + side))
  if pil.size != (image_size, image_size):
    pil = pil.resize((image_size, image_size), resample=RESAMPLE)
  array = np.asarray(pil, dtype=np.float32).reshape(image_size, image_size, channels)
  return array / 127.5 - 1.0


def pil_to_uint8(pil: Image.Image) -> np.ndarray:
  """A decoded PIL image as a uint8 HxW, HxWx3 or HxWx4 array, upright as viewers show it."""
  # Phone photos are often stored sideways with an EXIF orientation tag.
  pil = ImageOps.exif_transpose(pil)
  if pil.mode in ("I;16", "I;16B", "I;16L", "I"):
    # 16-bit grayscale PNGs: scale 0..65535 to 0..255 (Pillow's convert('L') would clip instead).
    wide = np.asarray(pil, dtype=np.float64)
    return np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)
  if pil.mode in ("L", "RGB", "RGBA"):
    return np.asarray(pil, dtype=np.uint8)
  has_alpha = pil.mode in ("LA", "La", "PA", "RGBa") or "transparency" in pil.info
  return np.asarray(pil.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)
