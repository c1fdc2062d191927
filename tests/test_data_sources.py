"""Image-folder and tfds data sources: shapes, ranges, labels, crop vs resize, errors, grain."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import grain
import numpy as np
import pytest
from PIL import Image

from jaxgan.data.base import DataInfo
from jaxgan.data.folder import FolderSource, is_test_file
from jaxgan.data.images import to_model_image
from jaxgan.errors import JaxganError


# ---------------------------------------------------------------- helpers


def _save(path, array: np.ndarray) -> str:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)
  return str(path)


def _random_image(shape, seed=0) -> np.ndarray:
  return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _quarter_black(height: int, width: int) -> np.ndarray:
  """White RGB image whose left quarter (wide image) or top quarter (tall image) is black."""
  image = np.full((height, width, 3), 255, np.uint8)
  if width > height:
    image[:, : width // 4] = 0
  else:
    image[: height // 4] = 0
  return image


def _assert_one_line_error(excinfo, *fragments: str) -> None:
  message = str(excinfo.value)
  assert "\n" not in message, message
  for fragment in fragments:
    assert fragment in message, message


def _check_example(example, image_size, channels, labelled):
  image = example["image"]
  assert image.dtype == np.float32 and image.shape == (image_size, image_size, channels)
  assert image.min() >= -1.0 and image.max() <= 1.0
  assert ("label" in example) == labelled
  if labelled:
    assert isinstance(example["label"], np.int32)


def _check_grain_batches(source, image_size, channels, labelled):
  batch = next(iter(grain.MapDataset.source(source).batch(4)))
  assert batch["image"].shape == (4, image_size, image_size, channels)
  assert batch["image"].dtype == np.float32
  if labelled:
    assert batch["label"].shape == (4,) and batch["label"].dtype == np.int32


def _check_pickle_round_trip(source):
  copy = pickle.loads(pickle.dumps(source))
  assert len(copy) == len(source) and copy.info == source.info
  np.testing.assert_array_equal(copy[1]["image"], source[1]["image"])


# ---------------------------------------------------------------- to_model_image


@pytest.mark.parametrize("shape", [(10, 14), (10, 14, 1), (10, 14, 3), (10, 14, 4), (14, 10, 3)])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("fit", ["center_crop", "resize"])
def test_to_model_image_shapes_and_range(shape, channels, fit):
  out = to_model_image(_random_image(shape), 8, channels, fit)
  assert out.dtype == np.float32 and out.shape == (8, 8, channels)
  assert -1.0 <= out.min() and out.max() <= 1.0


def test_extremes_map_to_minus_one_and_one():
  assert np.all(to_model_image(np.zeros((4, 4), np.uint8), 4, 1, "resize") == -1.0)
  assert np.all(to_model_image(np.full((4, 4, 3), 255, np.uint8), 4, 3, "resize") == 1.0)


@pytest.mark.parametrize("height,width", [(16, 64), (64, 16)])
def test_center_crop_versus_resize_on_non_square_image(height, width):
  image = _quarter_black(height, width)
  # The centred square lies wholly in the white part.
  cropped = to_model_image(image, 8, 3, "center_crop")
  np.testing.assert_allclose(cropped, 1.0, atol=1e-6)
  # Squashing keeps the black quarter: 2 of the 8 columns (or rows).
  squashed = to_model_image(image, 8, 3, "resize")
  if width > height:
    squashed = squashed.transpose(1, 0, 2)  # so rows are along the squashed axis below
  np.testing.assert_allclose(squashed[0], -1.0, atol=0.05)
  np.testing.assert_allclose(squashed[-3:], 1.0, atol=0.05)


def test_center_crop_takes_the_middle_exactly():
  image = np.zeros((8, 32), np.uint8)
  image[:, 16:] = 255  # right half white; the centred 8x8 square is columns 12..19
  out = to_model_image(image, 8, 1, "center_crop")[..., 0]
  np.testing.assert_array_equal(out[:, :4], -1.0)
  np.testing.assert_array_equal(out[:, 4:], 1.0)


def test_rgba_is_composited_on_white():
  image = np.zeros((4, 4, 4), np.uint8)  # transparent black
  image[0, 0] = (255, 0, 0, 255)  # one opaque red pixel
  out = to_model_image(image, 4, 3, "resize")
  np.testing.assert_array_equal(out[0, 0], [1.0, -1.0, -1.0])
  np.testing.assert_array_equal(out[1:], 1.0)


def test_gray_and_rgb_conversions():
  gray = to_model_image(np.full((4, 4), 100, np.uint8), 4, 3, "resize")
  np.testing.assert_allclose(gray, 100 / 127.5 - 1.0, atol=1e-6)  # same gray in all 3 channels
  red = np.zeros((4, 4, 3), np.uint8)
  red[..., 0] = 255
  luma = to_model_image(red, 4, 1, "resize")
  np.testing.assert_allclose(luma, 76 / 127.5 - 1.0, atol=1e-6)  # ITU-R 601: 0.299 * 255 = 76


@pytest.mark.parametrize(
    "kwargs,fragment",
    [({"image_size": 0}, "image_size"), ({"channels": 2}, "channels"), ({"fit": "pad"}, "fit")],
)
def test_bad_image_options_are_one_line_errors(tmp_path, kwargs, fragment):
  _save(tmp_path / "a.png", _random_image((4, 4, 3)))
  options = {"image_size": 8, "channels": 3, "fit": "resize", **kwargs}
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(tmp_path, split="all", **options)
  _assert_one_line_error(excinfo, fragment)


# ---------------------------------------------------------------- FolderSource


@pytest.fixture
def mixed_folder(tmp_path):
  """Unlabelled: images at the top level, in PNG/JPEG, gray/RGB/RGBA, non-square, nested."""
  root = tmp_path / "mixed"
  _save(root / "gray.png", _random_image((10, 14), 1))
  _save(root / "rgb.jpg", _random_image((20, 12, 3), 2))
  _save(root / "rgba.png", _random_image((9, 9, 4), 3))
  _save(root / "nested" / "deeper" / "photo.JPEG", _random_image((7, 30, 3), 4))
  _save(root / "gray_jpeg.jpeg", _random_image((16, 16), 5))
  (root / "notes.txt").write_text("not an image")
  _save(root / ".hidden" / "skip.png", _random_image((4, 4), 6))
  return root


@pytest.mark.parametrize("channels", [1, 3])
def test_unlabelled_mixed_folder(mixed_folder, channels):
  source = FolderSource(mixed_folder, image_size=16, channels=channels, split="all")
  assert len(source) == 5
  assert source.info.kind == "images" and source.info.shape == (16, 16, channels)
  assert source.info.num_classes == 0 and source.info.name == "mixed"
  assert source.files == sorted(source.files)  # deterministic order
  for i in range(len(source)):
    _check_example(source[i], 16, channels, labelled=False)


@pytest.fixture
def class_folder(tmp_path):
  root = tmp_path / "classes"
  for i in range(6):
    _save(root / "cat" / f"{i}.png", _random_image((12, 12, 3), i))
    _save(root / "dog" / "sub" / f"{i}.jpg", _random_image((12, 18, 3), 10 + i))
  (root / "README.txt").write_text("class folders")
  (root / "empty").mkdir()  # a subfolder without images is not a class
  return root


def test_class_subfolders_are_labels(class_folder):
  source = FolderSource(class_folder, image_size=8, channels=3, fit="resize", split="all")
  assert source.class_names == ["cat", "dog"] and source.info.num_classes == 2
  assert len(source) == 12
  for i in range(len(source)):
    example = source[i]
    _check_example(example, 8, 3, labelled=True)
    expected = 0 if os.sep + "cat" + os.sep in source.files[i] else 1
    assert example["label"] == expected
  _check_grain_batches(source, 8, 3, labelled=True)
  _check_pickle_round_trip(source)


def test_single_subfolder_is_unlabelled(tmp_path):
  for i in range(4):
    _save(tmp_path / "celeba" / "img_align_celeba" / f"{i:06d}.jpg", _random_image((21, 17, 3), i))
  source = FolderSource(tmp_path / "celeba", image_size=8, channels=3, split="all")
  assert source.info.num_classes == 0 and len(source) == 4
  _check_grain_batches(source, 8, 3, labelled=False)


def test_split_is_fixed_disjoint_and_complete(tmp_path):
  for i in range(40):
    _save(tmp_path / "many" / f"{i:03d}.png", _random_image((4, 4), i))
  root = tmp_path / "many"
  make = lambda split: FolderSource(root, 4, 1, "resize", split=split, test_fraction=0.3)
  train, test, everything = make("train"), make("test"), make("all")
  assert 0 < len(test) < len(train)
  assert set(train.files) | set(test.files) == set(everything.files)
  assert not set(train.files) & set(test.files)
  assert make("test").files == test.files
  # Membership depends only on the relative path, so it is the same in a copy elsewhere.
  assert [is_test_file(os.path.basename(f), 0.3) for f in everything.files] == [
      f in test.files for f in everything.files
  ]


def test_split_with_no_test_files_is_an_error(mixed_folder):
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(mixed_folder, 8, 3, split="test", test_fraction=0.0)
  _assert_one_line_error(excinfo, "no images in split 'test'")


def test_missing_folder(tmp_path):
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(tmp_path / "nope", 8, 3)
  _assert_one_line_error(excinfo, "does not exist", "nope")


def test_path_is_a_file(tmp_path):
  path = _save(tmp_path / "a.png", _random_image((4, 4)))
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(path, 8, 3)
  _assert_one_line_error(excinfo, "is not a folder")


def test_folder_without_images(tmp_path):
  (tmp_path / "sub").mkdir()
  (tmp_path / "readme.txt").write_text("nothing here")
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(tmp_path, 8, 3)
  _assert_one_line_error(excinfo, "no image files")


def test_random_bytes_named_png(mixed_folder):
  (mixed_folder / "noise.png").write_bytes(np.random.default_rng(0).bytes(500))
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(mixed_folder, 8, 3, split="all")
  _assert_one_line_error(excinfo, "corrupt or unreadable image", "noise.png")


def test_truncated_png_fails_at_construction(mixed_folder):
  path = _save(mixed_folder / "whole.png", _random_image((32, 32, 3)))
  data = open(path, "rb").read()
  (mixed_folder / "whole.png").write_bytes(data[: len(data) // 2])
  with pytest.raises(JaxganError) as excinfo:
    FolderSource(mixed_folder, 8, 3, split="all")
  _assert_one_line_error(excinfo, "corrupt or unreadable image", "whole.png")


def test_truncated_jpeg_fails_when_read(tmp_path):
  # verify() does not decode JPEG data, so a cut-off JPEG passes construction and is caught
  # when its pixels are decoded.
  path = _save(tmp_path / "cut.jpg", _random_image((64, 64, 3)))
  data = open(path, "rb").read()
  (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
  source = FolderSource(tmp_path, 8, 3, split="all")
  with pytest.raises(JaxganError) as excinfo:
    source[0]  # pylint: disable=pointless-statement
  _assert_one_line_error(excinfo, "corrupt or unreadable image", "cut.jpg")


def test_constructed_image_through_folder(tmp_path):
  _save(tmp_path / "wide.png", _quarter_black(16, 64))
  cropped = FolderSource(tmp_path, 8, 3, "center_crop", split="all")[0]["image"]
  squashed = FolderSource(tmp_path, 8, 3, "resize", split="all")[0]["image"]
  np.testing.assert_allclose(cropped, 1.0, atol=1e-6)
  np.testing.assert_allclose(squashed[:, 0], -1.0, atol=0.05)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
  Image.fromarray(np.full((4, 4), 32896, np.uint16)).save(tmp_path / "deep.png")  # 128 * 257
  image = FolderSource(tmp_path, 4, 1, "resize", split="all")[0]["image"]
  np.testing.assert_allclose(image, 128 / 127.5 - 1.0, atol=1e-6)


def test_modules_do_not_import_tensorflow():
  code = (
      "import sys, jaxgan.data.folder, jaxgan.data.tfds_source, jaxgan.data.images\n"
      "bad = [m for m in ('tensorflow', 'tensorflow_datasets') if m in sys.modules]\n"
      "assert not bad, bad\n"
  )
  import jaxgan  # pylint: disable=g-import-not-at-top

  repo_root = os.path.dirname(os.path.dirname(os.path.abspath(jaxgan.__file__)))
  env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo_root, os.environ.get("PYTHONPATH", "")])}
  subprocess.run([sys.executable, "-c", code], check=True, env=env)


# ---------------------------------------------------------------- TfdsSource


tfds = pytest.importorskip("tensorflow_datasets")
from jaxgan.data.tfds_source import TfdsSource  # pylint: disable=wrong-import-position


@pytest.mark.parametrize(
    "name,channels,image_size,fit,num_classes",
    [
        ("mnist", 1, 32, "resize", 10),  # 28x28x1 upsampled
        ("cifar10", 3, 32, "center_crop", 10),  # 32x32x3 as is
        ("celeb_a", 3, 64, "center_crop", 0),  # 218x178x3 cropped to 178x178, no label feature
        ("mnist", 3, 16, "center_crop", 10),  # gray -> RGB
    ],
)
def test_tfds_mock_data(tmp_path, name, channels, image_size, fit, num_classes):
  # With no metadata in tensorflow_datasets/testing/metadata, mock_data's AUTO policy falls back
  # to USE_CODE: features come from the builder class and random examples are generated.
  with tfds.testing.mock_data(num_examples=6):
    source = TfdsSource(name, "train", str(tmp_path), image_size, channels, fit)
    assert len(source) == 6
    assert source.info == DataInfo(name, "images", (image_size, image_size, channels), num_classes)
    for i in range(len(source)):
      example = source[i]
      _check_example(example, image_size, channels, labelled=num_classes > 0)
      if num_classes:
        assert 0 <= example["label"] < num_classes
    _check_grain_batches(source, image_size, channels, labelled=num_classes > 0)
    _check_pickle_round_trip(source)


def test_tfds_label_key_none_is_unlabelled(tmp_path):
  with tfds.testing.mock_data(num_examples=4):
    source = TfdsSource("mnist", "train", str(tmp_path), 8, 1, "resize", label_key=None)
    assert source.info.num_classes == 0 and "label" not in source[0]


def test_tfds_wrong_image_key(tmp_path):
  with tfds.testing.mock_data(num_examples=4):
    with pytest.raises(JaxganError) as excinfo:
      TfdsSource("mnist", "train", str(tmp_path), 8, 1, "resize", image_key="img")
  _assert_one_line_error(excinfo, "no feature 'img'")


def test_tfds_not_prepared(tmp_path):
  with pytest.raises(JaxganError) as excinfo:
    TfdsSource("celeb_a", "train", str(tmp_path), 64, 3, "center_crop")
  _assert_one_line_error(
      excinfo, "'celeb_a' is not prepared in", str(tmp_path), "tfds build celeb_a"
  )
  assert os.listdir(tmp_path) == []  # nothing downloaded or written


def test_tfds_unknown_name(tmp_path):
  with pytest.raises(JaxganError) as excinfo:
    TfdsSource("no_such_data_set", "train", str(tmp_path), 8, 3, "resize")
  _assert_one_line_error(excinfo, "unknown tfds data set 'no_such_data_set'")


def _prepare_tiny_mnist(data_dir, file_format):
  """Prepares tfds's 20-example DummyMnist offline, as tiny_mnist, in the given file format."""
  pytest.importorskip("tensorflow")  # preparing (not reading) needs TensorFlow
  from tensorflow_datasets.testing import test_utils  # pylint: disable=g-import-not-at-top

  class TinyMnist(test_utils.DummyMnist, skip_registration=True):
    # tfds 4.9.10 looks up code_path through the `importlib_resources` backport, which is not
    # installed on Python >= 3.9; no code path just means no checksums file to look for.
    code_path = None

  TinyMnist(data_dir=str(data_dir)).download_and_prepare(file_format=file_format)


def test_tfds_prepared_array_record_without_mock(tmp_path):
  _prepare_tiny_mnist(tmp_path, "array_record")
  source = TfdsSource("tiny_mnist", "test", str(tmp_path), 8, 1, "resize")
  assert len(source) == 20 and source.info.num_classes == 10
  _check_example(source[3], 8, 1, labelled=True)
  _check_grain_batches(source, 8, 1, labelled=True)
  _check_pickle_round_trip(source)
  with pytest.raises(JaxganError) as excinfo:
    TfdsSource("tiny_mnist", "validation", str(tmp_path), 8, 1, "resize")
  _assert_one_line_error(excinfo, "has no split 'validation'", "test, train")


def test_tfds_prepared_as_tfrecord_is_explained(tmp_path):
  _prepare_tiny_mnist(tmp_path, "tfrecord")
  with pytest.raises(JaxganError) as excinfo:
    TfdsSource("tiny_mnist", "train", str(tmp_path), 8, 1, "resize")
  _assert_one_line_error(excinfo, "prepared as tfrecord", "--file_format=array_record")
