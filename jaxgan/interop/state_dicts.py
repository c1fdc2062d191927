"""Reading a reference .pth and moving its arrays into jaxgan's variable trees.

`load_pth` reads a PyTorch state dict as numpy arrays (torch needed here only). `StateDict`
hands its arrays out key by key (`take`), each checked against the shape the matched jaxgan
network expects, and at the end refuses the keys nobody took (`finish`). `Mapper` writes the
taken arrays into a variable tree shaped like the network's abstract variables, converting
layouts (PyTorch's (out, in, kh, kw) convolutions, its transposed convolutions' (in, out, kh,
kw) with the taps flipped, its (out, in) linear maps), and refuses a tree left incomplete.
Every refusal is a one-line JaxganError naming the file and the key.
"""

from __future__ import annotations

import os

import numpy as np

from jaxgan.errors import JaxganError


def load_pth(path: str) -> dict[str, np.ndarray]:
  """A .pth state dict (a mapping of names to tensors) as {name: float32/int numpy array}."""
  if not os.path.isfile(path):
    raise JaxganError(f"{path}: no such file")
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise JaxganError("reading PyTorch checkpoints needs torch (pip install torch)") from e
  try:
    loaded = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # pylint: disable=broad-except  # pickle, zip and torch errors alike
    text = str(e).strip().splitlines()
    raise JaxganError(f"{path} is not a readable PyTorch checkpoint: "
                      f"{text[0] if text else type(e).__name__}") from e
  if not isinstance(loaded, dict):
    raise JaxganError(f"{path} holds a {type(loaded).__name__}, not a state dict")
  arrays = {}
  for key, value in loaded.items():
    if isinstance(value, torch.Tensor):
      arrays[str(key)] = value.detach().cpu().numpy()
    else:
      arrays[str(key)] = value  # e.g. BigGAN-PyTorch's state_dict.pth: counters and config
  return arrays


def load_pth_tensors(path: str) -> dict[str, np.ndarray]:
  """load_pth, refusing entries that are not arrays (a network's state dict)."""
  arrays = load_pth(path)
  for key, value in arrays.items():
    if not isinstance(value, np.ndarray):
      raise JaxganError(f"{path}: key {key!r} is a {type(value).__name__}, not a tensor (is "
                        "this a network's state dict?)")
  return arrays


class StateDict:
  """A reference network's arrays, taken key by key with shape checks."""

  def __init__(self, arrays: dict[str, np.ndarray], name: str):
    self.arrays, self.name = dict(arrays), name
    self.taken: set[str] = set()

  def __contains__(self, key: str) -> bool:
    return key in self.arrays

  def keys(self):
    return self.arrays.keys()

  def shape(self, key: str) -> tuple[int, ...]:
    if key not in self.arrays:
      raise JaxganError(f"{self.name}: key {key!r} is missing")
    return tuple(self.arrays[key].shape)

  def take(self, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if key not in self.arrays:
      raise JaxganError(f"{self.name}: key {key!r} is missing")
    value = self.arrays[key]
    if shape is not None and tuple(value.shape) != tuple(shape):
      raise JaxganError(f"{self.name}: key {key!r} has shape {tuple(value.shape)}, the matched "
                        f"architecture needs {tuple(shape)}")
    self.taken.add(key)
    return np.asarray(value)

  def ignore(self, *keys: str):
    """Keys read and dropped on purpose when present (logging buffers, counters)."""
    self.taken.update(k for k in keys if k in self.arrays)

  def finish(self):
    left = sorted(set(self.arrays) - self.taken)
    if left:
      more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
      raise JaxganError(f"{self.name}: unknown key {left[0]!r}{more}: not part of the matched "
                        "architecture")


def _flat(tree, prefix=""):
  out = {}
  for key, value in tree.items():
    path = f"{prefix}/{key}" if prefix else str(key)
    if isinstance(value, dict) or hasattr(value, "items"):
      out.update(_flat(value, path))
    else:
      out[path] = value
  return out


def _nest(flat: dict):
  tree = {}
  for path, value in flat.items():
    node = tree
    parts = path.split("/")
    for part in parts[:-1]:
      node = node.setdefault(part, {})
    node[parts[-1]] = value
  return tree


class Mapper:
  """Fills a variable tree shaped like `abstract` ({collection: {...}}) from a StateDict.

  Paths are 'collection/module/.../leaf' in jaxgan's tree; every method takes the reference's
  key prefix and the jaxgan module path."""

  def __init__(self, source: StateDict, abstract):
    self.src = source
    self.want = {p: tuple(v.shape) for p, v in _flat(abstract).items()}
    self.out: dict[str, np.ndarray] = {}

  def shape(self, path: str) -> tuple[int, ...]:
    if path not in self.want:
      raise JaxganError(f"{self.src.name}: jaxgan's network has no variable {path} (converter "
                        "and model disagree)")
    return self.want[path]

  def put(self, path: str, value):
    value = np.array(value, np.float32)  # a copy: never a view of the source's memory
    if tuple(value.shape) != self.shape(path):
      raise JaxganError(f"{self.src.name}: {path} got shape {value.shape}, jaxgan's network "
                        f"needs {self.shape(path)}")
    self.out[path] = value

  def conv(self, key: str, path: str, bias: bool = True, collection: str = "params"):
    kh, kw, cin, cout = self.shape(f"{collection}/{path}/kernel")
    w = self.src.take(f"{key}.weight", (cout, cin, kh, kw))
    self.put(f"{collection}/{path}/kernel", w.transpose(2, 3, 1, 0))
    if bias:
      self.put(f"{collection}/{path}/bias", self.src.take(f"{key}.bias", (cout,)))

  def transposed_conv(self, key: str, path: str, bias: bool = True):
    """PyTorch's ConvTranspose2d (in, out, kh, kw) is the input-dilated convolution with the
    kernel's taps flipped: flax's / lax.conv_transpose's kernel is (kh, kw, in, out)."""
    kh, kw, cin, cout = self.shape(f"params/{path}/kernel")
    w = self.src.take(f"{key}.weight", (cin, cout, kh, kw))
    self.put(f"params/{path}/kernel", w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1))
    if bias:
      self.put(f"params/{path}/bias", self.src.take(f"{key}.bias", (cout,)))

  def linear(self, key: str, path: str, bias: bool = True, out_order=None):
    """(out, in) -> (in, out); out_order permutes the outputs (G's first layer: PyTorch views
    them as (C, 4, 4), jaxgan reshapes to (4, 4, C))."""
    fin, fout = self.shape(f"params/{path}/kernel")
    w = self.src.take(f"{key}.weight", (fout, fin))
    order = slice(None) if out_order is None else out_order
    self.put(f"params/{path}/kernel", w[order].T)
    if bias:
      self.put(f"params/{path}/bias", self.src.take(f"{key}.bias", (fout,))[order])

  def spectral(self, key: str, path: str, out_order=None):
    """BigGAN-PyTorch's u0 (1, rows) -> jaxgan's u; its sv0 (a logged sigma) is dropped."""
    (n,) = self.shape(f"spectral/{path}/sn/u")
    u = self.src.take(f"{key}.u0", (1, n))[0]
    self.put(f"spectral/{path}/sn/u", u if out_order is None else u[out_order])
    self.src.ignore(f"{key}.sv0")

  def batch_norm(self, key: str, path: str, affine: bool = True,
                 mean: str = "running_mean", var: str = "running_var"):
    """Running statistics (and PyTorch's counter, dropped); with affine its weight and bias
    as jaxgan's scale and bias."""
    (n,) = self.shape(f"batch_stats/{path}/mean")
    self.put(f"batch_stats/{path}/mean", self.src.take(f"{key}.{mean}", (n,)))
    self.put(f"batch_stats/{path}/var", self.src.take(f"{key}.{var}", (n,)))
    self.src.ignore(f"{key}.num_batches_tracked")
    if affine:
      self.put(f"params/{path}/scale", self.src.take(f"{key}.weight", (n,)))
      self.put(f"params/{path}/bias", self.src.take(f"{key}.bias", (n,)))

  def finish(self):
    """The variables as nested dicts {collection: ...}; every key of the file used, every
    variable of the network given."""
    self.src.finish()
    missing = sorted(set(self.want) - set(self.out))
    if missing:
      raise JaxganError(f"{self.src.name}: nothing in the file gives jaxgan's {missing[0]}")
    return _nest(self.out)
