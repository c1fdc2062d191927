"""Folders of two-image data sets (data.name='folder', data.path):

  data.layout='side_by_side'  paired, pix2pix's format: each file is A|B side by side (width
                      twice the height); data.direction 'AtoB' makes the left half the input,
                      'BtoA' the right half. Splits from subfolders train/ and test/ (or val/)
                      when the folder has them, else by a hash of each file's path.
  data.layout='unpaired'      CycleGAN's format: subfolders trainA/, trainB/, testA/, testB/,
                      or A/ and B/ split by hash. Both domains' images must have one size.

A paired example is {'input': (H, W, Cin), 'target': (H, W, Cout)}; an unpaired one
{'a', 'b'} (see jaxgan.data.sources.UnpairedSource).
"""

from __future__ import annotations

import collections
import os

from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.folder import FolderSource, check_folder, check_readable, split_files
from jaxgan.data.images import check_image_options, pil_to_uint8, to_model_image
from jaxgan.data.registry import register
from jaxgan.data.sources import UnpairedSource, unpaired_info
from jaxgan.errors import JaxganError

DIRECTIONS = ("AtoB", "BtoA")


def _one_line(error: Exception) -> str:
  return (" ".join(str(error).split()) or type(error).__name__)[:200]


def _image_size(path: str) -> tuple[int, int]:
  """(width, height) from the file's header, without decoding its pixels."""
  check_readable(path)
  with Image.open(path) as image:
    return image.size


class PairedFolderSource:
  """pix2pix's side-by-side format: every file is A|B, width = 2 x height."""

  def __init__(self, path: str, split: str, image_size: int, channels: int, fit: str,
               direction: str):
    check_image_options(image_size, channels, fit)
    if direction not in DIRECTIONS:
      raise JaxganError(f"data.direction must be 'AtoB' or 'BtoA', got {direction!r}")
    path = check_folder(path)
    files = split_files(path, split)
    if not files:
      raise JaxganError(f"image folder {path} has no images (.png, .jpg, .jpeg) in split "
                        f"{split!r}")
    for file in files:
      width, height = _image_size(file)
      if width != 2 * height:
        raise JaxganError(f"paired image {file} is {width}x{height}: pix2pix's side-by-side A|B "
                          f"format needs a width of twice the height")
    self.path, self.files, self.direction = path, files, direction
    self.image_size, self.channels, self.fit = image_size, channels, fit
    shape = (image_size, image_size, channels)
    self.info = DataInfo(os.path.basename(os.path.normpath(path)), "images", shape,
                         pairing="paired", shape_b=shape)

  def __len__(self):
    return len(self.files)

  def __getitem__(self, index):
    file = self.files[index]
    try:
      with Image.open(file) as pil:
        pixels = pil_to_uint8(pil)
    except Exception as error:  # a user's file that does not decode is bad input
      raise JaxganError(f"corrupt or unreadable image {file}: {_one_line(error)}") from error
    half = pixels.shape[1] // 2
    left, right = pixels[:, :half], pixels[:, half:2 * half]
    source, target = (left, right) if self.direction == "AtoB" else (right, left)
    convert = lambda x: to_model_image(x, self.image_size, self.channels, self.fit)
    return {"input": convert(source), "target": convert(target)}


def _domain_folders(path: str, split: str):
  """(folder A, folder B, FolderSource split) of CycleGAN's layout."""
  if split in ("train", "test"):
    for prefix in ((split,) if split == "train" else ("test", "val")):
      a, b = os.path.join(path, prefix + "A"), os.path.join(path, prefix + "B")
      if os.path.isdir(a) and os.path.isdir(b):
        return a, b, "all"
  a, b = os.path.join(path, "A"), os.path.join(path, "B")
  if os.path.isdir(a) and os.path.isdir(b):
    return a, b, split
  raise JaxganError(f"unpaired folder {path} needs subfolders trainA/ trainB/ (and testA/ "
                    f"testB/) or A/ and B/")


def _sizes(files) -> collections.Counter:
  return collections.Counter(_image_size(f) for f in files)


def _describe_sizes(sizes: collections.Counter) -> str:
  (w, h), n = sizes.most_common(1)[0]
  others = sum(sizes.values()) - n
  return f"{w}x{h}" + (f" (and {others} of other sizes)" if others else "")


@register("folder/unpaired")
def load_unpaired(data_config, split: str):
  path = check_folder(data_config.path)
  dir_a, dir_b, sub_split = _domain_folders(path, split)
  args = (data_config.image_size, data_config.channels, data_config.fit)
  a = FolderSource(dir_a, *args, split=sub_split)
  b = FolderSource(dir_b, *args, split=sub_split)
  sizes_a, sizes_b = _sizes(a.files), _sizes(b.files)
  if set(sizes_a) != set(sizes_b):
    raise JaxganError(
        f"unpaired folders {dir_a} and {dir_b} hold images of different sizes "
        f"({_describe_sizes(sizes_a)} and {_describe_sizes(sizes_b)}): translation needs both "
        f"domains at one scale, resize one folder to the other's size")
  if a.info.num_classes or b.info.num_classes:
    raise JaxganError(f"unpaired folders {dir_a} and {dir_b} must hold images, not class "
                      f"subfolders")
  name = os.path.basename(os.path.normpath(path))
  return UnpairedSource(a, b), unpaired_info(name, a.info, b.info)


@register("folder/side_by_side")
def load_side_by_side(data_config, split: str):
  source = PairedFolderSource(data_config.path, split, data_config.image_size,
                              data_config.channels, data_config.fit, data_config.direction)
  return source, source.info
