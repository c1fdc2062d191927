"""A folder of PNG/JPEG files as a random-access data source (for grain.MapDataset.source).

Layout (torchvision ImageFolder convention):
  - no image files at the top level and two or more subfolders holding images: each such
    subfolder (sorted by name) is a class, label = its index; images are searched recursively;
  - otherwise the folder is unlabelled and every image under it, recursively, is an example.
    A single subfolder (e.g. celeba/img_align_celeba/) is a wrapper, not a one-class data set.
Hidden files and folders (names starting with '.') are skipped, as are files with other
extensions.

Split: each file goes to 'test' or 'train' by a hash of its path relative to the folder
(see `is_test_file`), so the split is fixed, needs no seed, and a file keeps its split when
files are added or removed; the test share is close to `test_fraction`, not exact. 'all' is
every file. Metrics (FID, KID...) compare against split='test'.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.images import check_image_options, pil_to_uint8, to_model_image
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test", "all")
DEFAULT_TEST_FRACTION = 0.1


def is_test_file(relative_path: str, test_fraction: float) -> bool:
  """Whether a file (path relative to the folder root, '/'-separated) belongs to the test split.

  The first 8 bytes of SHA-1 of the path, read as a fraction of 2**64, is compared with
  test_fraction: stable across runs, machines and Python versions (unlike the salted hash()).
  """
  digest = hashlib.sha1(relative_path.encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") / 2.0**64 < test_fraction


def _is_image_name(name: str) -> bool:
  return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_under(folder: str) -> list[str]:
  """Image files under folder, recursively, sorted by path; hidden entries skipped.

  Symbolic links are followed, each real folder at most once: a link cycle, or a link back to
  a parent, neither hangs the scan nor lists an image twice.
  """
  found, seen = [], set()
  for root, dirs, files in os.walk(folder, followlinks=True):
    real = os.path.realpath(root)
    if real in seen:
      dirs[:] = []
      continue
    seen.add(real)
    dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                     and os.path.realpath(os.path.join(root, d)) not in seen)
    found.extend(os.path.join(root, name) for name in files if _is_image_name(name))
  return sorted(found)


def _list_examples(root: str) -> tuple[list[str], list[int], list[str]]:
  """(files, labels, class_names) of the whole folder; labels are -1 when unlabelled."""
  entries = sorted(os.listdir(root))
  top_images = [e for e in entries if _is_image_name(e) and os.path.isfile(os.path.join(root, e))]
  subfolders = [
      e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(root, e))
  ]
  if not top_images:
    per_class = [(name, _images_under(os.path.join(root, name))) for name in subfolders]
    per_class = [(name, files) for name, files in per_class if files]
    if len(per_class) >= 2:
      files, labels = [], []
      for label, (_, class_files) in enumerate(per_class):
        files.extend(class_files)
        labels.extend([label] * len(class_files))
      return files, labels, [name for name, _ in per_class]
  files = _images_under(root)
  return files, [-1] * len(files), []


def check_readable(path: str) -> None:
  """Raises JaxganError if the file's header/structure is not a readable image."""
  try:
    with Image.open(path) as image:
      image.verify()  # cheap: checks the structure (PNG chunk CRCs) without decoding pixels
  except Exception as error:  # any failure reading a user's file means the file is bad
    raise JaxganError(f"corrupt or unreadable image {path}: {_one_line(error)}") from error


def _one_line(error: Exception) -> str:
  text = " ".join(str(error).split()) or type(error).__name__
  return text[:200]


class FolderSource:
  """Random access to one split of a folder of images: `src[i]` -> {'image'[, 'label']}.

  Examples are {'image': float32 (S, S, C) in [-1, 1]} plus 'label': np.int32 when the folder
  has class subfolders. Files are listed and their headers verified at construction (bad input
  fails before training); pixels are decoded lazily in __getitem__.
  """

  def __init__(
      self,
      path: str,
      image_size: int,
      channels: int,
      fit: str = "center_crop",
      split: str = "train",
      test_fraction: float = DEFAULT_TEST_FRACTION,
  ):
    check_image_options(image_size, channels, fit)
    if split not in SPLITS:
      raise JaxganError(f"folder split must be 'train', 'test' or 'all', got {split!r}")
    if not 0.0 <= test_fraction < 1.0:
      raise JaxganError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    path = os.path.expanduser(str(path))
    if not os.path.exists(path):
      raise JaxganError(f"image folder {path} does not exist")
    if not os.path.isdir(path):
      raise JaxganError(f"image folder {path} is not a folder")

    files, labels, class_names = _list_examples(path)
    if not files:
      raise JaxganError(f"image folder {path} holds no image files (.png, .jpg, .jpeg)")
    if split != "all":
      want_test = split == "test"
      keep = [
          i for i, file in enumerate(files)
          if is_test_file(os.path.relpath(file, path).replace(os.sep, "/"), test_fraction)
          == want_test
      ]
      files, labels = [files[i] for i in keep], [labels[i] for i in keep]
      if not files:
        raise JaxganError(
            f"image folder {path} has no images in split {split!r} "
            f"(test_fraction={test_fraction}); use split='all' or another test_fraction"
        )
    for file in files:
      check_readable(file)

    self.path = path
    self.files = files
    self.labels = np.asarray(labels, np.int32)
    self.class_names = class_names
    self.image_size, self.channels, self.fit = image_size, channels, fit
    self.info = DataInfo(
        name=os.path.basename(os.path.normpath(path)),
        kind="images",
        shape=(image_size, image_size, channels),
        num_classes=len(class_names),
    )

  def __len__(self) -> int:
    return len(self.files)

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    file = self.files[index]
    try:
      with Image.open(file) as pil:
        pixels = pil_to_uint8(pil)  # decodes; a truncated file fails here, not at verify()
    except Exception as error:  # any failure reading a user's file means the file is bad
      raise JaxganError(f"corrupt or unreadable image {file}: {_one_line(error)}") from error
    example = {"image": to_model_image(pixels, self.image_size, self.channels, self.fit)}
    if self.info.num_classes:
      example["label"] = self.labels[index]  # np.int32 scalar
    return example

  def __repr__(self) -> str:
    return (
        f"FolderSource({self.path!r}, {len(self)} images, {self.info.shape}, "
        f"num_classes={self.info.num_classes})"
    )


def check_folder(path: str) -> str:
  """The folder data.path names, or a one-line error."""
  path = os.path.expanduser(str(path))
  if not path:
    raise JaxganError("data.name='folder' needs data.path, the folder of images")
  if not os.path.isdir(path):
    raise JaxganError(f"image folder {path} does not exist or is not a folder")
  return path


def split_files(path: str, split: str) -> list[str]:
  """Files of one split: the split's subfolder when there is one, else a hash split."""
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


@register("folder/images")
def load(data_config, split: str):
  source = FolderSource(check_folder(data_config.path), data_config.image_size,
                        data_config.channels, data_config.fit, split=split)
  return source, source.info
