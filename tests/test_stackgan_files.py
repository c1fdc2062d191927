"""The published StackGAN files loader, on a small fake tree written in their exact layout."""

from __future__ import annotations

import os
import pickle
import types

import numpy as np
import pytest
from PIL import Image

from jaxgan.data import stackgan_files
from jaxgan.data.stackgan_files import StackganSource, crop_box, read_split
from jaxgan.errors import JaxganError

CUB_NAMES = ["001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111",
             "001.Black_footed_Albatross/Black_Footed_Albatross_0002_55",
             "002.Laysan_Albatross/Laysan_Albatross_0003_1033"]
# (width, height) of each fake photo and its bounding box (x, y, w, h) as CUB writes them.
SIZES = [(120, 100), (90, 110), (100, 100)]
BOXES = [(40.0, 30.0, 20.0, 16.0), (5.0, 70.0, 30.0, 34.0), (0.0, 0.0, 100.0, 100.0)]
CAPTIONS = 10
DIM = 16


def _embeddings(num: int, offset: float = 0.0) -> np.ndarray:
  """Row n, caption k holds n * 100 + k + offset everywhere: the example's origin is readable."""
  values = np.arange(num)[:, None] * 100.0 + np.arange(CAPTIONS)[None, :] + offset
  return np.repeat(values[:, :, None], DIM, axis=2).astype(np.float32)


def _pickle(path, value) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    pickle.dump(value, f, protocol=2)


def _white_crop_image(size, box) -> np.ndarray:
  """Black photo, white exactly on the reference crop of `box`."""
  width, height = size
  image = np.zeros((height, width, 3), np.uint8)
  left, top, right, bottom = crop_box(box, width, height)
  image[top:bottom, left:right] = 255
  return image


def _write_split(root, split, names, offset=0.0, bytes_names=False) -> None:
  stored = [n.encode("latin1") for n in names] if bytes_names else list(names)
  _pickle(os.path.join(root, split, "filenames.pickle"), stored)
  _pickle(os.path.join(root, split, "char-CNN-RNN-embeddings.pickle"),
          _embeddings(len(names), offset))


@pytest.fixture
def cub(tmp_path):
  root = str(tmp_path / "birds")
  cub_dir = os.path.join(root, "CUB_200_2011")
  os.makedirs(cub_dir)
  with open(os.path.join(cub_dir, "images.txt"), "w") as f:
    for i, name in enumerate(CUB_NAMES, 1):
      f.write(f"{i} {name}.jpg\n")
  with open(os.path.join(cub_dir, "bounding_boxes.txt"), "w") as f:
    for i, box in enumerate(BOXES, 1):
      f.write(f"{i} " + " ".join(f"{v:.1f}" for v in box) + "\n")
  for name, size, box in zip(CUB_NAMES, SIZES, BOXES):
    path = os.path.join(cub_dir, "images", name + ".jpg")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(_white_crop_image(size, box)).save(path, quality=95)
  _write_split(root, "train", CUB_NAMES[:2], bytes_names=True)  # Python-2 str: bytes
  _write_split(root, "test", CUB_NAMES[2:], offset=0.5)
  return root


@pytest.fixture
def coco(tmp_path):
  root = str(tmp_path / "coco")
  names = ["COCO_train2014_000000000009", "COCO_train2014_000000000025"]
  rng = np.random.default_rng(0)
  for name in names:
    path = os.path.join(root, "train2014", name + ".jpg")  # COCO's own folder
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
  _write_split(root, "train", names)
  _write_split(root, "test", names[:1])
  return root


def _config(name, path, size=64, channels=3):
  return types.SimpleNamespace(name=name, path=path, image_size=size,
                               get=lambda key, default: {"channels": channels}.get(key, default))


def _one_line(excinfo, *fragments):
  message = str(excinfo.value)
  assert "\n" not in message, message
  for fragment in fragments:
    assert fragment in message, message


# ---------------------------------------------------------------- the crop and the examples


def test_crop_box_is_the_reference_crop():
  # R = int(0.75 * 20) = 15 around the centre (int(100 / 2), int(76 / 2)) = (50, 38)
  assert crop_box((40.0, 30.0, 20.0, 16.0), 120, 100) == (35, 23, 65, 53)
  # clipped at the image's edges
  assert crop_box((5.0, 70.0, 30.0, 34.0), 90, 110) == (0, 62, 45, 110)
  # the box's larger side sets the square (height here: R = 30 around (15, 30)), clipped left
  assert crop_box((10.0, 10.0, 10.0, 40.0), 200, 200) == (0, 0, 45, 60)
  assert crop_box((110.0, 10.0, 10.0, 40.0), 200, 200) == (85, 0, 145, 60)


def test_cub_examples_shapes_crop_and_caption_choice(cub):
  source, info = stackgan_files.load(_config("stackgan_cub", cub, 64), "train")
  assert len(source) == 2 * CAPTIONS
  assert info.kind == "images" and info.shape == (64, 64, 3)
  assert info.embedding_dim == DIM and info.captions_per_image == CAPTIONS
  assert source.load_size == 76
  for index in (0, 7, 13, 19):
    example = source[index]
    assert example["image"].shape == (64, 64, 3) and example["image"].dtype == np.float32
    assert -1.0 <= example["image"].min() and example["image"].max() <= 1.0
    # example i: image i // 10 with caption i % 10
    image, caption = divmod(index, CAPTIONS)
    np.testing.assert_array_equal(example["embedding"], np.full(DIM, image * 100 + caption))
    # the photo is white exactly on the reference crop: a wrong crop shows black
    assert example["image"].mean() > 0.9, (index, example["image"].mean())
  assert source.names[0] == CUB_NAMES[0]  # bytes names decoded


def test_uncropped_image_would_be_mostly_black(cub):
  source = StackganSource("stackgan_cub", cub, "train", 64)
  source.boxes = None  # what a loader that forgot the box would show
  assert source[0]["image"].mean() < -0.5


def test_train_windows_are_seeded_per_pair_and_test_is_centred(cub):
  train = StackganSource("stackgan_cub", cub, "train", 32)
  windows = [train.window(i) for i in range(len(train))]
  assert windows == [train.window(i) for i in range(len(train))]  # deterministic
  assert len(set(windows)) > 5  # each (image, caption) pair its own crop
  assert {w[2] for w in windows} == {True, False}  # some flipped, some not
  spare = train.load_size - 32
  assert all(0 <= t <= spare and 0 <= l <= spare for t, l, _ in windows)
  test = StackganSource("stackgan_cub", cub, "test", 32)
  assert {test.window(i) for i in range(len(test))} == {(spare // 2, spare // 2, False)}
  np.testing.assert_array_equal(test[3]["embedding"], np.full(DIM, 3.5))


def test_flip_mirrors_the_window(tmp_path):
  root = str(tmp_path / "coco")
  gradient = np.tile(np.linspace(0, 255, 76).astype(np.uint8)[None, :, None], (76, 1, 3))
  Image.fromarray(gradient).save(_mkdir(os.path.join(root, "images", "a.jpg")), quality=100)
  _write_split(root, "train", ["a"])
  source = StackganSource("stackgan_coco", root, "train", 64)
  for index in range(CAPTIONS):
    image = source[index]["image"]
    top, left, flip = source.window(index)
    increasing = image[:, -1].mean() > image[:, 0].mean()
    assert increasing != flip


def _mkdir(path):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  return path


def test_coco_layout_and_grain(coco):
  source, info = stackgan_files.load(_config("stackgan_coco", coco, 16), "train")
  assert len(source) == 2 * CAPTIONS and info.shape == (16, 16, 3)
  from jaxgan.data.pipeline import train_iterator
  batch = next(train_iterator(source, global_batch=4, seed=0))
  assert batch["image"].shape == (4, 16, 16, 3) and batch["embedding"].shape == (4, DIM)


# ---------------------------------------------------------------- errors


def test_read_split_errors(tmp_path):
  split = tmp_path / "train"
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "missing", "filenames.pickle")
  _pickle(str(split / "filenames.pickle"), ["a", "b"])
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "missing", "char-CNN-RNN-embeddings.pickle")
  (split / "char-CNN-RNN-embeddings.pickle").write_bytes(b"not a pickle at all")
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "char-CNN-RNN-embeddings.pickle", "not a readable pickle")
  _pickle(str(split / "char-CNN-RNN-embeddings.pickle"), np.zeros((3, 10, 8), np.float32))
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "char-CNN-RNN-embeddings.pickle", "3 rows", "2 images")
  _pickle(str(split / "char-CNN-RNN-embeddings.pickle"), np.zeros((2, 10, 8, 1), np.float32))
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "char-CNN-RNN-embeddings.pickle", "(2, 10, 8, 1)")
  _pickle(str(split / "char-CNN-RNN-embeddings.pickle"), {"not": "an array"})
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "char-CNN-RNN-embeddings.pickle")
  _pickle(str(split / "filenames.pickle"), {"a": 1})
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "filenames.pickle", "list of names")
  _pickle(str(split / "filenames.pickle"), [1, 2])
  with pytest.raises(JaxganError) as excinfo:
    read_split(split)
  _one_line(excinfo, "filenames.pickle", "list of names")
  # a 2-D array is one embedding per image
  _pickle(str(split / "filenames.pickle"), ["a", "b"])
  _pickle(str(split / "char-CNN-RNN-embeddings.pickle"), np.ones((2, 8), np.float64))
  names, embeddings = read_split(split)
  assert names == ["a", "b"] and embeddings.shape == (2, 1, 8) and embeddings.dtype == np.float32


def test_cub_file_errors(cub):
  cub_dir = os.path.join(cub, "CUB_200_2011")
  boxes = os.path.join(cub_dir, "bounding_boxes.txt")
  original = open(boxes).read()
  with open(boxes, "w") as f:
    f.write(original + "4 1.0 2.0 3.0\n")
  with pytest.raises(JaxganError) as excinfo:
    StackganSource("stackgan_cub", cub, "train", 64)
  _one_line(excinfo, "bounding_boxes.txt", "line 4", "expected 5 fields")
  with open(boxes, "w") as f:
    f.write("".join(original.splitlines(True)[1:]))  # the first image's box left out
  with pytest.raises(JaxganError) as excinfo:
    StackganSource("stackgan_cub", cub, "train", 64)
  _one_line(excinfo, "bounding_boxes.txt", CUB_NAMES[0])
  os.remove(boxes)
  with pytest.raises(JaxganError) as excinfo:
    StackganSource("stackgan_cub", cub, "train", 64)
  _one_line(excinfo, "missing", "bounding_boxes.txt")
  with open(boxes, "w") as f:
    f.write(original)
  os.remove(os.path.join(cub_dir, "images.txt"))
  with pytest.raises(JaxganError) as excinfo:
    StackganSource("stackgan_cub", cub, "train", 64)
  _one_line(excinfo, "missing", "images.txt")


def test_image_errors(cub):
  image = os.path.join(cub, "CUB_200_2011", "images", CUB_NAMES[1] + ".jpg")
  with open(image, "wb") as f:
    f.write(b"garbage, not a jpeg")
  source = StackganSource("stackgan_cub", cub, "train", 64)
  with pytest.raises(JaxganError) as excinfo:
    source[CAPTIONS]
  _one_line(excinfo, image, "not a readable image")
  os.remove(image)
  with pytest.raises(JaxganError) as excinfo:
    source[CAPTIONS + 3]
  _one_line(excinfo, "missing image", CUB_NAMES[1] + ".jpg")
  os.remove(os.path.join(cub, "CUB_200_2011", "images", CUB_NAMES[0] + ".jpg"))
  with pytest.raises(JaxganError) as excinfo:  # the first image is checked at construction
    StackganSource("stackgan_cub", cub, "train", 64)
  _one_line(excinfo, "missing image", CUB_NAMES[0] + ".jpg")


def test_config_errors(cub, tmp_path):
  with pytest.raises(JaxganError) as excinfo:
    stackgan_files.load(_config("stackgan_cub", ""), "train")
  _one_line(excinfo, "needs data.path")
  with pytest.raises(JaxganError) as excinfo:
    stackgan_files.load(_config("stackgan_cub", str(tmp_path / "nowhere")), "train")
  _one_line(excinfo, "nowhere", "not a folder")
  with pytest.raises(JaxganError) as excinfo:
    stackgan_files.load(_config("stackgan_cub", cub, channels=1), "train")
  _one_line(excinfo, "channels must be 3")
  with pytest.raises(JaxganError) as excinfo:
    StackganSource("stackgan_cub", cub, "valid", 64)
  _one_line(excinfo, "unknown split")
  with pytest.raises(JaxganError) as excinfo:
    stackgan_files.load(_config("stackgan_coco", cub), "train")  # CUB tree, no COCO images
  _one_line(excinfo, "missing image", os.path.join(cub, "images"))
