"""The published StackGAN data files: CUB birds and COCO with their char-CNN-RNN embeddings.

data.name='stackgan_cub' or 'stackgan_coco', data.path the folder laid out as the reference code
(hanzhanggit/StackGAN-Pytorch, code/miscc/datasets.py) expects:

  <path>/train/filenames.pickle                 list of N names (no extension)
  <path>/train/char-CNN-RNN-embeddings.pickle   float32 (N, k, D): k captions (10 for CUB) of
                                                D = 1024 per image; Python-2 pickles, read with
                                                encoding='latin1'
  <path>/test/...                               the same for the test split
  stackgan_cub:  <path>/CUB_200_2011/images/<name>.jpg
                 <path>/CUB_200_2011/images.txt          "<id> <name>.jpg" per line
                 <path>/CUB_200_2011/bounding_boxes.txt  "<id> <x> <y> <width> <height>"
  stackgan_coco: <path>/images/<name>.jpg (the reference's layout), or COCO's own
                 <path>/train2014/<name>.jpg / <path>/val2014/<name>.jpg

CUB images are cropped as the reference does: a square of half-side R = int(0.75 max(w, h)) (the
box's larger side times 1.5) around the box centre (int((2x + w) / 2), int((2y + h) / 2)), clipped
to the image. Then, like the reference, every image is resized (bilinear) to int(S * 76 / 64) and
an S x S window is taken (S = data.image_size): in 'train' at a random offset and flipped
left-right with probability 1/2, in 'test' the centre window, unflipped.

An example is {'image': float32 (S, S, 3) in [-1, 1], 'embedding': float32 (D,)}. The source has
N x k examples: example i is image i // k with caption embedding i % k, so the engine's seeded
permutation of the pairs is the reference's "one random caption of the k per step", made
deterministic and resumable; the crop offset and flip of example i are drawn from a generator
seeded by (CROP_SEED, i), so each of an image's k pairs has its own crop.

Missing or malformed files raise a one-line JaxganError naming the file.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
from PIL import Image

from jaxgan.data.registry import register
from jaxgan.errors import JaxganError

NAMES = ("stackgan_cub", "stackgan_coco")
EMBEDDINGS_FILE = "char-CNN-RNN-embeddings.pickle"
FILENAMES_FILE = "filenames.pickle"
CROP_SEED = 76
LOAD_SCALE = 76 / 64


def _unpickle(path: str):
  if not os.path.isfile(path):
    raise JaxganError(f"missing {path}")
  try:
    with open(path, "rb") as f:
      return pickle.load(f, encoding="latin1")  # the published files are Python-2 pickles
  except Exception as error:  # pylint: disable=broad-except
    raise JaxganError(f"{path}: not a readable pickle ({type(error).__name__})") from None


def read_split(split_dir) -> tuple[list[str], np.ndarray]:
  """(names, float32 (N, k, D) embeddings) of one split folder; JaxganError on a bad file."""
  split_dir = os.fspath(split_dir)
  names_path = os.path.join(split_dir, FILENAMES_FILE)
  names = _unpickle(names_path)
  if isinstance(names, np.ndarray):
    names = names.tolist()
  if not isinstance(names, (list, tuple)) or not names:
    raise JaxganError(f"{names_path}: expected a non-empty list of names, "
                      f"got {type(names).__name__}")
  names = [n.decode("latin1") if isinstance(n, bytes) else n for n in names]
  if not all(isinstance(n, str) for n in names):
    raise JaxganError(f"{names_path}: expected a list of names (str)")
  emb_path = os.path.join(split_dir, EMBEDDINGS_FILE)
  raw = _unpickle(emb_path)
  try:
    embeddings = np.asarray(raw, dtype=np.float32)
  except (TypeError, ValueError):
    raise JaxganError(f"{emb_path}: expected a float array (N, captions, dim)") from None
  if embeddings.ndim == 2:  # one embedding per image
    embeddings = embeddings[:, None, :]
  if embeddings.ndim != 3 or 0 in embeddings.shape:
    raise JaxganError(f"{emb_path}: expected a float array (N, captions, dim), "
                      f"got shape {embeddings.shape}")
  if len(embeddings) != len(names):
    raise JaxganError(f"{emb_path}: {len(embeddings)} rows but {names_path} names "
                      f"{len(names)} images")
  if not np.all(np.isfinite(embeddings)):
    raise JaxganError(f"{emb_path}: embeddings contain NaN or infinity")
  return names, embeddings


def _read_table(path: str, columns: int) -> list[list[str]]:
  if not os.path.isfile(path):
    raise JaxganError(f"missing {path}")
  rows = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      fields = line.split()
      if not fields:
        continue
      if len(fields) != columns:
        raise JaxganError(f"{path}, line {number}: expected {columns} fields, got {len(fields)}")
      rows.append(fields)
  return rows


def read_cub_boxes(cub_dir: str) -> dict[str, tuple[float, float, float, float]]:
  """name (no extension) -> (x, y, width, height) from images.txt and bounding_boxes.txt."""
  images_path = os.path.join(cub_dir, "images.txt")
  boxes_path = os.path.join(cub_dir, "bounding_boxes.txt")
  names = {fields[0]: os.path.splitext(fields[1])[0] for fields in _read_table(images_path, 2)}
  boxes = {}
  for fields in _read_table(boxes_path, 5):
    if fields[0] not in names:
      raise JaxganError(f"{boxes_path}: image id {fields[0]} is not in {images_path}")
    try:
      box = tuple(float(v) for v in fields[1:])
    except ValueError:
      raise JaxganError(f"{boxes_path}: non-numeric box for image id {fields[0]}") from None
    boxes[names[fields[0]]] = box
  return boxes


def crop_box(box, width: int, height: int) -> tuple[int, int, int, int]:
  """The reference's crop (left, top, right, bottom): a square 1.5x the box's larger side around
  its centre, clipped to the image."""
  x, y, w, h = (int(v) for v in box)  # the reference reads the boxes as integers
  radius = int(max(w, h) * 0.75)
  cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
  return (max(0, cx - radius), max(0, cy - radius), min(width, cx + radius),
          min(height, cy + radius))


class StackganSource:
  """Random access to (image, caption embedding) pairs of one split of the published files."""

  def __init__(self, name: str, path: str, split: str, image_size: int):
    if name not in NAMES:
      raise JaxganError(f"unknown StackGAN data set {name!r} (expected {' or '.join(NAMES)})")
    if not path:
      raise JaxganError(f"data.name={name!r} needs data.path, the folder of the published files")
    if split not in ("train", "test"):
      raise JaxganError(f"unknown split {split!r} (expected train or test)")
    if not isinstance(image_size, (int, np.integer)) or image_size < 1:
      raise JaxganError(f"image_size must be a positive integer, got {image_size!r}")
    if not os.path.isdir(path):
      raise JaxganError(f"data.path {path} is not a folder")
    self.name, self.path, self.split, self.image_size = name, path, split, int(image_size)
    self.names, self.embeddings = read_split(os.path.join(path, split))
    self.per_image = self.embeddings.shape[1]
    self.load_size = int(self.image_size * LOAD_SCALE)
    if name == "stackgan_cub":
      cub_dir = os.path.join(path, "CUB_200_2011")
      self.boxes = read_cub_boxes(cub_dir)
      missing = [n for n in self.names if n not in self.boxes]
      if missing:
        raise JaxganError(f"{os.path.join(cub_dir, 'bounding_boxes.txt')}: no box for "
                          f"{missing[0]!r} ({len(missing)} images without one)")
      self.folders = [os.path.join(cub_dir, "images")]
    else:
      self.boxes = None
      self.folders = [os.path.join(path, d) for d in ("images", "train2014", "val2014")]
    self.image_path(0)  # fail at construction, not mid-training, when the folder is wrong

  @property
  def embedding_dim(self) -> int:
    return self.embeddings.shape[2]

  def __len__(self):
    return len(self.names) * self.per_image

  def image_path(self, image: int) -> str:
    for folder in self.folders:
      path = os.path.join(folder, self.names[image] + ".jpg")
      if os.path.isfile(path):
        return path
    raise JaxganError(f"missing image {os.path.join(self.folders[0], self.names[image])}.jpg")

  def crop_and_resize(self, image: int) -> Image.Image:
    """The image cropped (CUB: around its box) and resized to load_size, before the window."""
    path = self.image_path(image)
    try:
      with Image.open(path) as pil:
        pil = pil.convert("RGB")
    except (OSError, ValueError):
      raise JaxganError(f"{path}: not a readable image") from None
    if self.boxes is not None:
      pil = pil.crop(crop_box(self.boxes[self.names[image]], *pil.size))
    return pil.resize((self.load_size, self.load_size), Image.Resampling.BILINEAR)

  def window(self, index: int) -> tuple[int, int, bool]:
    """(top, left, flip) of example `index`'s S x S window of the load_size image."""
    spare = self.load_size - self.image_size
    if self.split != "train":
      return spare // 2, spare // 2, False
    rng = np.random.default_rng((CROP_SEED, int(index)))
    top, left = rng.integers(0, spare + 1, size=2)
    return int(top), int(left), bool(rng.random() < 0.5)

  def __getitem__(self, index):
    index = int(index)
    if not 0 <= index < len(self):
      raise IndexError(index)
    image, caption = divmod(index, self.per_image)
    array = np.asarray(self.crop_and_resize(image), np.float32)
    top, left, flip = self.window(index)
    array = array[top : top + self.image_size, left : left + self.image_size]
    if flip:
      array = array[:, ::-1]
    return {"image": np.ascontiguousarray(array / 127.5 - 1.0, dtype=np.float32),
            "embedding": self.embeddings[image, caption]}


@register("stackgan_cub", "stackgan_coco")
def load(data_config, split: str = "train"):
  """(StackganSource, TextDataInfo) for data.name 'stackgan_cub' / 'stackgan_coco'."""
  from jaxgan.data.captioned_digits import TextDataInfo  # pylint: disable=g-import-not-at-top

  size = data_config.image_size
  channels = data_config.get("channels", 3) if hasattr(data_config, "get") else 3
  if channels != 3:
    raise JaxganError(f"{data_config.name} is RGB: data.channels must be 3, got {channels}")
  source = StackganSource(data_config.name, data_config.path, split, size)
  info = TextDataInfo(data_config.name, "images", (source.image_size, source.image_size, 3),
                      embedding_dim=source.embedding_dim, captions_per_image=source.per_image)
  return source, info
