"""A prepared tfds data set as a random-access data source (for grain.MapDataset.source).

Reading goes through `tfds.data_source`, which needs the data set prepared in the ArrayRecord
file format (`tfds build NAME --file_format=array_record`); the default TFRecord format only
supports sequential tf.data reading. Preparing needs TensorFlow and network; reading does not,
and nothing here ever downloads. tensorflow_datasets is imported inside TfdsSource, never at
module import time, so importing jaxgan.data does not pull in TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxgan.data.base import DataInfo
from jaxgan.data.images import check_image_options, to_model_image
from jaxgan.data.registry import register
from jaxgan.errors import JaxganError


def _one_line(error: Exception) -> str:
  text = " ".join(str(error).split()) or type(error).__name__
  return text[:200]


def _where(data_dir: str | None) -> str:
  default = "the default tfds data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)"
  return data_dir if data_dir else default


def _build_command(name: str, data_dir: str | None) -> str:
  command = f"tfds build {name} --file_format=array_record"
  return command + (f" --data_dir={data_dir}" if data_dir else "")


def _explain_open_failure(tfds: Any, name: str, split: str, data_dir: str | None,
                          error: Exception) -> JaxganError:
  """Turns tfds's multi-line errors into one line saying what is wrong and how to fix it."""
  if isinstance(error, tfds.core.DatasetNotFoundError):
    return JaxganError(
        f"unknown tfds data set {name!r}: not registered in tensorflow-datasets and not found in "
        f"{_where(data_dir)}"
    )
  try:
    builder = tfds.builder(name, data_dir=data_dir)
    prepared = builder.is_prepared()
  except Exception:  # the builder can't even be made: report tfds's own reason below
    builder, prepared = None, True
  if not prepared:
    return JaxganError(
        f"tfds data set {name!r} is not prepared in {_where(data_dir)}; prepare it with "
        f"`{_build_command(name, data_dir)}` on a machine with network (needs TensorFlow)"
    )
  if isinstance(error, NotImplementedError):  # prepared, but as TFRecord: no random access
    return JaxganError(
        f"tfds data set {name!r} in {_where(data_dir)} is prepared as "
        f"{builder.info.file_format.value if builder else 'tfrecord'}, which has no random "
        f"access; re-prepare it with `{_build_command(name, data_dir)}`"
    )
  if builder is not None and builder.info.splits and split not in builder.info.splits:
    # Slices such as 'train[:90%]' are fine; only an unknown base split name lands here.
    return JaxganError(
        f"tfds data set {name!r} has no split {split!r} (splits: "
        f"{', '.join(sorted(builder.info.splits))})"
    )
  return JaxganError(
      f"cannot open tfds data set {name!r} split {split!r} in {_where(data_dir)}: "
      f"{_one_line(error)}"
  )


class TfdsSource:
  """Random access to one split of a prepared tfds data set: `src[i]` -> {'image'[, 'label']}.

  Examples are {'image': float32 (S, S, C) in [-1, 1]} plus 'label': np.int32 when the data set
  has a ClassLabel feature named label_key (label_key=None, or no such feature, gives an
  unlabelled source). The data set, split and features are checked at construction and one
  example is decoded, so bad input fails before training; images are decoded lazily after.
  """

  def __init__(
      self,
      name: str,
      split: str,
      data_dir: str | None,
      image_size: int,
      channels: int,
      fit: str = "center_crop",
      image_key: str = "image",
      label_key: str | None = "label",
  ):
    check_image_options(image_size, channels, fit)
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
      source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except Exception as error:  # tfds raises many types; all mean "can't read it as asked"
      raise _explain_open_failure(tfds, name, split, data_dir, error) from error

    features = source.dataset_info.features
    if image_key not in features:
      raise JaxganError(
          f"tfds data set {name!r} has no feature {image_key!r} (features: "
          f"{', '.join(features.keys())}); set image_key"
      )
    image_shape = tuple(features[image_key].shape)
    rank = len(image_shape)
    if rank not in (2, 3) or (rank == 3 and image_shape[-1] not in (1, 3, 4)):
      raise JaxganError(
          f"tfds feature {name}/{image_key} has shape {image_shape}, not an HxW(xC) image with "
          f"1, 3 or 4 channels"
      )
    num_classes = 0
    if label_key is not None and label_key in features:
      num_classes = getattr(features[label_key], "num_classes", None) or 0
      if not num_classes:
        raise JaxganError(
            f"tfds feature {name}/{label_key} is not a class label (no num_classes); "
            f"set label_key=None for an unlabelled source"
        )
    if len(source) == 0:
      raise JaxganError(f"tfds data set {name!r} split {split!r} has no examples")

    self.name, self.split, self.data_dir = name, split, data_dir
    self.image_key, self.label_key = image_key, label_key
    self.image_size, self.channels, self.fit = image_size, channels, fit
    self.source = source  # tfds's ArrayRecordDataSource: picklable, reopens files per process
    self.info = DataInfo(
        name=name, kind="images", shape=(image_size, image_size, channels),
        num_classes=int(num_classes),
    )
    self[0]  # pylint: disable=pointless-statement  # decode one example: fail now, not mid-run

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    record = self.source[int(index)]
    pixels = np.asarray(record[self.image_key])
    if pixels.dtype != np.uint8:
      raise JaxganError(
          f"tfds feature {self.name}/{self.image_key} has dtype {pixels.dtype}, expected uint8"
      )
    example = {"image": to_model_image(pixels, self.image_size, self.channels, self.fit)}
    if self.info.num_classes:
      example["label"] = np.int32(record[self.label_key])
    return example

  def __repr__(self) -> str:
    return (
        f"TfdsSource({self.name!r}, split={self.split!r}, {len(self)} examples, "
        f"{self.info.shape}, num_classes={self.info.num_classes})"
    )


@register("tfds/images")
def load(data_config, split: str):
  tfds_split = data_config.train_split if split == "train" else data_config.test_split
  source = TfdsSource(data_config.name[len("tfds:"):], tfds_split, data_config.data_dir or None,
                      data_config.image_size, data_config.channels, data_config.fit)
  return source, source.info
