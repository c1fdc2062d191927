"""Two-image data sets for image-to-image translation (paired) and coupled or cycle-consistent
GANs (unpaired).

A paired example is {'input': (H, W, Cin), 'target': (H, W, Cout)} (pix2pix); an unpaired one
is {'a': (H, W, C), 'b': (H, W, C')} plus 'label_a' / 'label_b' where the domains have labels
(CycleGAN, CoGAN), and a and b of one example have nothing to do with each other. DataInfo says
which (`pairing`), with `shape` the input's / a's and `shape_b` the target's / b's.

Embedded (offline):
  digits_negative     unpaired: domain A the digits, domain B their negatives (1 - x on a 0-1
                      scale, -x in [-1, 1]), CoGAN's MNIST set-up. In 'train' the two domains
                      come from disjoint halves of the digits' train split (719 each), so no
                      digit is ever shown with its own negative; 'test' has every test digit in
                      both domains (the evaluation compares a translation with the true negative).
  photos              single images: square patches of scikit-learn's two bundled photographs
                      (china.jpg, flower.jpg), see `photo_patches`.
  photo_colorization  paired: the photos' patches, grayscale (ITU-R 601 luma, 1 channel) ->
                      colour (3 channels).
  china_flower        unpaired: domain A china.jpg's patches, domain B flower.jpg's.
Each photo is halved in resolution (427x640 -> 213x320); its bottom quarter (53 rows) is held
out: 'train' patches (stride size/4) come from the rest, 'test' patches (stride size/2) from it.

From folders (data.name='folder', data.path):
  data.layout='side_by_side'  paired, pix2pix's format: each file is A|B side by side (width
                      twice the height); data.direction 'AtoB' makes the left half the input,
                      'BtoA' the right half. Splits from subfolders train/ and test/ (or val/)
                      when the folder has them, else by a hash of each file's path.
  data.layout='unpaired'      CycleGAN's format: subfolders trainA/, trainB/, testA/, testB/,
                      or A/ and B/ split by hash. Both domains' images must have one size.
From tfds (data.name='tfds:NAME'):
  data.domain_b='split'       unpaired: A from data.train_split / test_split, B from
                      data.train_split_b / test_split_b (cycle_gan/horse2zebra: trainA, trainB,
                      testA, testB).
  data.domain_b='negative'    unpaired: A the data set's images, B the negatives of a disjoint
                      half (train split; the test split has all its images in both domains).
"""

from __future__ import annotations

import collections
import functools
import os

import numpy as np
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.embedded import DIGITS_NUM_CLASSES, digits_arrays
from jaxgan.data.images import check_image_options, pil_to_uint8, to_model_image
from jaxgan.data.pipeline import ArraySource, fetch_batch
from jaxgan.errors import JaxganError

EMBEDDED = ("digits_negative", "photos", "photo_colorization", "china_flower")
LAYOUTS = ("", "side_by_side", "unpaired")
DIRECTIONS = ("AtoB", "BtoA")
DOMAIN_B = ("", "negative", "split")

PHOTO_NAMES = ("china", "flower")
PHOTO_DOWNSCALE = 2
PHOTO_HELD_OUT = 0.25  # the bottom quarter of each photo is the test region


def _opt(data_config, key: str, default):
  """A data key that configs written before it existed may lack."""
  return data_config.get(key, default) if hasattr(data_config, "get") else default


def to_gray(images: np.ndarray) -> np.ndarray:
  """(..., 3) RGB in [-1, 1] -> (..., 1) ITU-R 601 luma (what Pillow's convert('L') computes)."""
  weights = np.array([0.299, 0.587, 0.114], np.float32)
  return (images @ weights)[..., None].astype(np.float32)


# ------------------------------------------------------------------ generic wrappers


class SubsetSource:
  """Random access to some examples of another source (a half of a split)."""

  def __init__(self, source, indices):
    self.source, self.indices = source, np.asarray(indices, np.int64)

  def __len__(self):
    return len(self.indices)

  def __getitem__(self, index):
    return self.source[int(self.indices[index])]

  def get_batch(self, indices):
    return fetch_batch(self.source, self.indices[np.asarray(indices)])


class NegativeSource:
  """Another source's images negated: x -> -x in [-1, 1], 1 - x on a 0-1 scale."""

  def __init__(self, source):
    self.source = source

  def __len__(self):
    return len(self.source)

  def __getitem__(self, index):
    example = dict(self.source[index])
    example["image"] = -example["image"]
    return example

  def get_batch(self, indices):
    batch = dict(fetch_batch(self.source, indices))
    batch["image"] = -batch["image"]
    return batch


class UnpairedSource:
  """Two sources as one of unpaired examples {'a', 'b'[, 'label_a', 'label_b']}.

  Its length is the longer domain's; example i takes a[i mod |A|] and b[p(i) mod |B|] with p a
  fixed permutation, so the shorter domain repeats and which b comes with which a is arbitrary
  (and irrelevant: every loss of an unpaired trainer looks at one domain at a time).
  """

  def __init__(self, source_a, source_b, seed: int = 1):
    if len(source_a) == 0 or len(source_b) == 0:
      raise JaxganError("an unpaired data set needs images in both domains")
    self.source_a, self.source_b = source_a, source_b
    self.b_order = np.random.default_rng(seed).permutation(len(source_b))

  def __len__(self):
    return max(len(self.source_a), len(self.source_b))

  def _indices(self, indices):
    indices = np.asarray(indices, np.int64)
    return indices % len(self.source_a), self.b_order[indices % len(self.source_b)]

  @staticmethod
  def _merge(a, b):
    out = {"a": a["image"], "b": b["image"]}
    if "label" in a:
      out["label_a"] = a["label"]
    if "label" in b:
      out["label_b"] = b["label"]
    return out

  def __getitem__(self, index):
    ia, ib = self._indices([index])
    return self._merge(self.source_a[int(ia[0])], self.source_b[int(ib[0])])

  def get_batch(self, indices):
    ia, ib = self._indices(indices)
    return self._merge(fetch_batch(self.source_a, ia), fetch_batch(self.source_b, ib))


def _unpaired_info(name, info_a, info_b, relation=""):
  if info_a.shape[:2] != info_b.shape[:2]:
    raise JaxganError(f"the two domains of {name!r} have different image sizes: "
                      f"{info_a.shape} and {info_b.shape}")
  return DataInfo(name, "images", info_a.shape, info_a.num_classes if info_a.num_classes ==
                  info_b.num_classes else 0, pairing="unpaired", shape_b=info_b.shape,
                  relation=relation)


# ------------------------------------------------------------------ embedded: digits


def _digits_negative(data_config, split: str):
  from jaxgan.data import resize_images  # pylint: disable=g-import-not-at-top
  size, channels = data_config.image_size, data_config.channels
  check_image_options(size, channels, "resize")
  if split not in ("train", "test"):
    raise JaxganError(f"digits_negative has splits 'train' and 'test', got {split!r}")
  images, labels = digits_arrays(split)
  images = resize_images(images, size)
  if channels == 3:
    images = np.repeat(images, 3, axis=-1)
  if split == "train":  # disjoint halves: no digit is ever seen with its own negative
    half = len(images) // 2
    a = ArraySource({"image": images[:half], "label": labels[:half]})
    b = ArraySource({"image": -images[half:2 * half], "label": labels[half:2 * half]})
  else:
    a = ArraySource({"image": images, "label": labels})
    b = ArraySource({"image": -images, "label": labels})
  shape = (size, size, channels)
  info = DataInfo("digits_negative", "images", shape, DIGITS_NUM_CLASSES, pairing="unpaired",
                  shape_b=shape, relation="negative")
  return UnpairedSource(a, b), info


# ------------------------------------------------------------------ embedded: photos


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
  """The two sample photographs at half resolution, float32 (213, 320, 3) in [-1, 1]."""
  from sklearn.datasets import load_sample_images  # pylint: disable=g-import-not-at-top
  photos = []
  for image in load_sample_images().images:
    pil = Image.fromarray(image)
    pil = pil.resize((pil.width // PHOTO_DOWNSCALE, pil.height // PHOTO_DOWNSCALE),
                     Image.Resampling.BICUBIC)
    photos.append(np.asarray(pil, np.float32) / 127.5 - 1.0)
  return tuple(photos)


def photo_regions(photo: np.ndarray) -> dict[str, np.ndarray]:
  """{'train': the top three quarters of a photo, 'test': its held-out bottom quarter}."""
  cut = int(round(photo.shape[0] * (1.0 - PHOTO_HELD_OUT)))
  return {"train": photo[:cut], "test": photo[cut:]}


def photo_patches(name: str, split: str, size: int) -> np.ndarray:
  """Square patches (N, size, size, 3) of one photo's split region, row-major.

  'train': stride size // 4 over the top three quarters; 'test': stride size // 2 over the
  held-out bottom quarter. Patches never cross from one region into the other.
  """
  if split not in ("train", "test"):
    raise JaxganError(f"the photo data sets have splits 'train' and 'test', got {split!r}")
  regions = photo_regions(_photos()[PHOTO_NAMES.index(name)])
  test_rows = regions["test"].shape[0]
  if size > test_rows:  # checked for either split: a run must have its test patches
    raise JaxganError(f"photo patches can be at most {test_rows} pixels (the held-out band of "
                      f"the half-resolution photos), got data.image_size={size}")
  region = regions[split]
  stride = max(size // (4 if split == "train" else 2), 1)
  rows = range(0, region.shape[0] - size + 1, stride)
  cols = range(0, region.shape[1] - size + 1, stride)
  return np.stack([region[r:r + size, c:c + size] for r in rows for c in cols])


def _photo_set(name: str, data_config, split: str):
  size, channels = data_config.image_size, data_config.channels
  check_image_options(size, channels, "resize")
  per_photo = [photo_patches(photo, split, size) for photo in PHOTO_NAMES]
  if name == "photo_colorization":
    if channels != 3:
      raise JaxganError(f"photo_colorization's targets are colour: data.channels must be 3, "
                        f"got {channels}")
    colour = np.concatenate(per_photo)
    source = ArraySource({"input": to_gray(colour), "target": colour})
    info = DataInfo(name, "images", (size, size, 1), pairing="paired",
                    shape_b=(size, size, 3))
    return source, info
  if channels == 1:
    per_photo = [to_gray(p) for p in per_photo]
  shape = (size, size, channels)
  if name == "photos":
    return ArraySource({"image": np.concatenate(per_photo)}), DataInfo(name, "images", shape)
  a, b = (ArraySource({"image": p}) for p in per_photo)
  info = DataInfo(name, "images", shape, pairing="unpaired", shape_b=shape)
  return UnpairedSource(a, b), info


# ------------------------------------------------------------------ folders


def _one_line(error: Exception) -> str:
  return (" ".join(str(error).split()) or type(error).__name__)[:200]


def _image_size(path: str) -> tuple[int, int]:
  """(width, height) from the file's header, without decoding its pixels."""
  from jaxgan.data.folder import _check_readable  # pylint: disable=g-import-not-at-top
  _check_readable(path)
  with Image.open(path) as image:
    return image.size


def _split_files(path: str, split: str) -> list[str]:
  """Files of one split: the split's subfolder when there is one, else a hash split."""
  from jaxgan.data.folder import (  # pylint: disable=g-import-not-at-top
      DEFAULT_TEST_FRACTION, _images_under, is_test_file)
  names = {"train": ("train",), "test": ("test", "val"), "all": ()}[split]
  for name in names:
    if os.path.isdir(os.path.join(path, name)):
      return _images_under(os.path.join(path, name))
  files = _images_under(path)
  if split == "all":
    return files
  want_test = split == "test"
  return [f for f in files
          if is_test_file(os.path.relpath(f, path).replace(os.sep, "/"),
                          DEFAULT_TEST_FRACTION) == want_test]


def _check_folder(path: str):
  path = os.path.expanduser(str(path))
  if not path:
    raise JaxganError("data.name='folder' needs data.path, the folder of images")
  if not os.path.isdir(path):
    raise JaxganError(f"image folder {path} does not exist or is not a folder")
  return path


class PairedFolderSource:
  """pix2pix's side-by-side format: every file is A|B, width = 2 x height."""

  def __init__(self, path: str, split: str, image_size: int, channels: int, fit: str,
               direction: str):
    check_image_options(image_size, channels, fit)
    if direction not in DIRECTIONS:
      raise JaxganError(f"data.direction must be 'AtoB' or 'BtoA', got {direction!r}")
    path = _check_folder(path)
    files = _split_files(path, split)
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


def _unpaired_folder(data_config, split: str):
  from jaxgan.data.folder import FolderSource  # pylint: disable=g-import-not-at-top
  path = _check_folder(data_config.path)
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
  return UnpairedSource(a, b), _unpaired_info(name, a.info, b.info)


# ------------------------------------------------------------------ tfds


def _tfds_two_domains(data_config, split: str):
  from jaxgan.data.tfds_source import TfdsSource  # pylint: disable=g-import-not-at-top
  name = data_config.name[len("tfds:"):]
  domain_b = _opt(data_config, "domain_b", "")
  data_dir = data_config.data_dir or None
  args = (data_config.image_size, data_config.channels, data_config.fit)
  tfds_split = data_config.train_split if split == "train" else data_config.test_split
  if domain_b == "split":
    split_b = (_opt(data_config, "train_split_b", "") if split == "train" else
               _opt(data_config, "test_split_b", ""))
    if not split_b:
      raise JaxganError("data.domain_b='split' needs data.train_split_b and data.test_split_b, "
                        "the splits of domain B")
    a = TfdsSource(name, tfds_split, data_dir, *args, label_key=None)
    b = TfdsSource(name, split_b, data_dir, *args, label_key=None)
    return UnpairedSource(a, b), _unpaired_info(data_config.name, a.info, b.info)
  source = TfdsSource(name, tfds_split, data_dir, *args)
  if split == "train":
    half = len(source) // 2
    if half == 0:
      raise JaxganError(f"tfds data set {name!r} split {tfds_split!r} needs at least 2 examples "
                        "to make two domains")
    a, b = SubsetSource(source, range(half)), SubsetSource(source, range(half, 2 * half))
  else:
    a = b = source
  info = _unpaired_info(data_config.name, source.info, source.info, relation="negative")
  return UnpairedSource(a, NegativeSource(b)), info


# ------------------------------------------------------------------ entry point


def load(data_config, split: str):
  """(source, DataInfo) for the two-image data sets, None for the others (see jaxgan.data)."""
  name = data_config.name
  layout = _opt(data_config, "layout", "")
  domain_b = _opt(data_config, "domain_b", "")
  if layout not in LAYOUTS:
    raise JaxganError(f"data.layout must be one of {LAYOUTS}, got {layout!r}")
  if domain_b not in DOMAIN_B:
    raise JaxganError(f"data.domain_b must be one of {DOMAIN_B}, got {domain_b!r}")
  if layout and name != "folder":
    raise JaxganError(f"data.layout={layout!r} is for data.name='folder', not {name!r}")
  if domain_b and not name.startswith("tfds:"):
    raise JaxganError(f"data.domain_b={domain_b!r} is for tfds data sets (data.name='tfds:...'), "
                      f"not {name!r}")
  if name == "digits_negative":
    return _digits_negative(data_config, split)
  if name in ("photos", "photo_colorization", "china_flower"):
    return _photo_set(name, data_config, split)
  if layout == "side_by_side":
    source = PairedFolderSource(data_config.path, split, data_config.image_size,
                                data_config.channels, data_config.fit,
                                _opt(data_config, "direction", "AtoB"))
    return source, source.info
  if layout == "unpaired":
    return _unpaired_folder(data_config, split)
  if domain_b:
    return _tfds_two_domains(data_config, split)
  return None
