"""Prepared data sets: images decoded, cropped and resized once, stored in ArrayRecord files.

`jaxgan prepare` (`prepare(...)`) reads any one-image data set the registry loads (a folder of
PNG/JPEG files, a tfds set, an embedded one) through its own source, so the stored pixels are
exactly what training would have decoded, and writes

  OUT/prepared.json         what was stored: size, channels, classes, examples per split, the
                            data config it came from;
  OUT/train.array_record    one record per image: its uint8 (S, S, C) pixels, uncompressed,
  OUT/test.array_record     one record per chunk (group_size 1), for random access;
  OUT/train_labels.npy ...  int32 labels (labelled sets only).

Training reads it with data.name='prepared', data.path=OUT: a batch is a vectorised read of
its records and one uint8 -> float conversion, with no decoding or resizing (the folder source
decodes and resizes every image of every batch). benchmarks/prepare.py measures the difference.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil

import numpy as np

from jaxgan.data.base import DataInfo
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError

FORMAT = "jaxgan-prepared"
VERSION = 1
META = "prepared.json"
WRITER_OPTIONS = "group_size:1,uncompressed"
CHUNK = 256  # images decoded (in threads) and written at a time


def _records_path(root: str, split: str) -> str:
  return os.path.join(root, f"{split}.array_record")


def _labels_path(root: str, split: str) -> str:
  return os.path.join(root, f"{split}_labels.npy")


def read_meta(root: str) -> dict:
  """prepared.json of a prepared folder, or a one-line error."""
  if not root:
    raise JaxganError("data.name='prepared' needs data.path, a folder written by jaxgan prepare")
  path = os.path.join(os.path.expanduser(root), META)
  if not os.path.isfile(path):
    raise JaxganError(f"{root} is not a prepared data set (no {META}); write one with "
                      "jaxgan prepare --out " + root)
  try:
    with open(path, encoding="utf-8") as f:
      meta = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise JaxganError(f"{path} is unreadable: {e}") from e
  if meta.get("format") != FORMAT or meta.get("version") != VERSION:
    raise JaxganError(f"{path} is not a {FORMAT} v{VERSION} description")
  return meta


class PreparedSource:
  """Random access to one split of a prepared folder: `src[i]` -> {'image'[, 'label']}, with a
  vectorised `get_batch` (one read of the batch's records)."""

  def __init__(self, root: str, split: str, shape: tuple[int, int, int], num_classes: int):
    import grain  # pylint: disable=g-import-not-at-top
    path = _records_path(root, split)
    if not os.path.isfile(path):
      raise JaxganError(f"prepared data set {root} has no {split} split ({path} is missing)")
    self.records = grain.sources.ArrayRecordDataSource([path])
    self.shape, self.num_classes = tuple(shape), num_classes
    self.labels = None
    if num_classes:
      self.labels = np.load(_labels_path(root, split)).astype(np.int32)
      if len(self.labels) != len(self.records):
        raise JaxganError(f"prepared data set {root}: {len(self.labels)} labels for "
                          f"{len(self.records)} {split} images")

  def __len__(self) -> int:
    return len(self.records)

  def _images(self, records) -> np.ndarray:
    pixels = np.frombuffer(b"".join(records), np.uint8).reshape((-1,) + self.shape)
    # The arithmetic of data.images.to_model_image (x / 127.5 - 1 in float32), so a prepared
    # image equals a decoded one; in place, one float array per batch.
    images = pixels.astype(np.float32)
    np.divide(images, np.float32(127.5), out=images)
    np.subtract(images, np.float32(1.0), out=images)
    return images

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    example = {"image": self._images([self.records[int(index)]])[0]}
    if self.labels is not None:
      example["label"] = self.labels[int(index)]
    return example

  def get_batch(self, indices) -> dict[str, np.ndarray]:
    indices = [int(i) for i in np.asarray(indices)]
    batch = {"image": self._images(self.records.__getitems__(indices))}
    if self.labels is not None:
      batch["label"] = self.labels[np.asarray(indices, np.int64)]
    return batch


@register("prepared")
def load(data_config, split: str):
  root = os.path.expanduser(data_config.path)
  meta = read_meta(root)
  size, channels = meta["image_size"], meta["channels"]
  if (data_config.image_size, data_config.channels) != (size, channels):
    raise JaxganError(f"{root} was prepared at {size}x{size}x{channels}, but the config asks "
                      f"data.image_size={data_config.image_size}, data.channels="
                      f"{data_config.channels}; set those or prepare the data again")
  if not meta["splits"].get(split):
    raise JaxganError(f"prepared data set {root} has no {split!r} images (it holds "
                      f"{meta['splits']})")
  shape = (size, size, channels)
  source = PreparedSource(root, split, shape, meta["num_classes"])
  return source, DataInfo(name=meta["name"], kind="images", shape=shape,
                          num_classes=meta["num_classes"])


def _write_split(source, info, root: str, split: str, threads: int) -> int:
  try:
    from array_record.python import array_record_module  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise JaxganError(f"jaxgan prepare needs the array-record package (pip install "
                      f"array-record): {e}") from e
  from jaxgan import progress  # pylint: disable=g-import-not-at-top
  from jaxgan.visualize import to_uint8  # pylint: disable=g-import-not-at-top
  num = len(source)
  writer = array_record_module.ArrayRecordWriter(_records_path(root, split), WRITER_OPTIONS)
  labels = []
  bar = progress.bar(num, f"prepare {split}")
  try:
    # Decoding (Pillow releases the GIL) in threads; records written in the source's order.
    with concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool:
      for start in range(0, num, CHUNK):
        examples = list(pool.map(source.__getitem__, range(start, min(start + CHUNK, num))))
        for example in examples:
          writer.write(to_uint8(example["image"]).tobytes())
          if info.num_classes:
            labels.append(int(example["label"]))
        bar.update(len(examples))
  finally:
    bar.close()
    writer.close()
  if info.num_classes:
    np.save(_labels_path(root, split), np.asarray(labels, np.int32))
  return num


def prepare(data_config, out: str, overwrite: bool = False, threads: int = 1) -> dict[str, int]:
  """Writes data_config's data set (train and, where it has one, test split) to the folder
  `out`, all or nothing: it is written beside `out` and renamed at the end. -> {split: count}.
  An existing `out` is replaced only with overwrite, and only if it is a prepared folder."""
  from jaxgan.data import registry  # pylint: disable=g-import-not-at-top
  out = os.path.abspath(os.path.expanduser(out))
  if os.path.exists(out):
    if not overwrite:
      raise JaxganError(f"{out} exists; pass --overwrite to replace it, or choose another --out")
    if not os.path.isfile(os.path.join(out, META)):
      raise JaxganError(f"{out} exists and is not a prepared data set: not replacing it")
  if data_config.name == "prepared":
    raise JaxganError("the data set is already prepared (data.name='prepared')")
  source, info = registry.load(data_config, "train")
  if info.kind != "images" or info.pairing:
    raise JaxganError(f"prepare stores one-image data sets; {data_config.name!r} has "
                      f"{info.pairing + ' pairs of ' if info.pairing else ''}{info.kind}")
  sources = {"train": source}
  try:
    sources["test"] = registry.load(data_config, "test")[0]
  except JaxganError:
    pass  # a folder whose hash split put no file in test: train only (prepared.json says so)
  tmp = f"{out}.tmp-{os.getpid()}"
  os.makedirs(tmp)
  try:
    counts = {split: _write_split(src, info, tmp, split, threads) for split, src in sources.items()}
    meta = dict(format=FORMAT, version=VERSION, name=info.name, image_size=info.shape[0],
                channels=info.shape[2], num_classes=info.num_classes, splits=counts,
                record="uint8 pixels (image_size, image_size, channels), row-major",
                data=json.loads(data_config.to_json_best_effort()))
    with open(os.path.join(tmp, META), "w", encoding="utf-8") as f:
      json.dump(meta, f, indent=1)
    if os.path.exists(out):
      shutil.rmtree(out)
    os.replace(tmp, out)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return counts
