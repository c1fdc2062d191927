"""The FID Inception-v3's parameters: their layout, conversion from pytorch-fid, and seeded stand-ins.

numpy only (torch is imported inside `convert_pytorch_fid_weights` alone), so that the fixture script
can load this file into a torch-only environment without jax.

The layout is pytorch-fid's `fid_inception_v3()` state dict (torchvision's Inception3 with
num_classes=1008, aux_logits=False and the FIDInceptionA/C/E blocks): every conv is a BasicConv2d
`NAME.conv.weight` (out, in, kh, kw, no bias) followed by `NAME.bn.{weight,bias,running_mean,
running_var}`; then `fc.weight` (1008, 2048) and `fc.bias`. Converted, these become the Flax
variables {'params': {...'conv': {'kernel': (kh, kw, in, out)}, 'bn': {'scale', 'bias'}},
'batch_stats': {...'bn': {'mean', 'var'}}} of `jaxgan.metrics.inception.InceptionV3`, stored
flat in an .npz under keys like 'params/Mixed_5b/branch1x1/conv/kernel'.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from jaxgan.errors import JaxganError

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
ENV_VAR = "JAXGAN_INCEPTION_WEIGHTS"
CONFIG_KEY = "eval.inception_weights"
CONVERT_COMMAND = f"jaxgan inception convert {WEIGHTS_FILE} inception_fid.npz"
NUM_LOGITS = 1008
FEATURE_DIM = 2048


def _block_a(in_ch: int, pool_features: int):
  return [("branch1x1", in_ch, 64, 1, 1), ("branch5x5_1", in_ch, 48, 1, 1),
          ("branch5x5_2", 48, 64, 5, 5), ("branch3x3dbl_1", in_ch, 64, 1, 1),
          ("branch3x3dbl_2", 64, 96, 3, 3), ("branch3x3dbl_3", 96, 96, 3, 3),
          ("branch_pool", in_ch, pool_features, 1, 1)]


def _block_b(in_ch: int):
  return [("branch3x3", in_ch, 384, 3, 3), ("branch3x3dbl_1", in_ch, 64, 1, 1),
          ("branch3x3dbl_2", 64, 96, 3, 3), ("branch3x3dbl_3", 96, 96, 3, 3)]


def _block_c(in_ch: int, c7: int):
  return [("branch1x1", in_ch, 192, 1, 1), ("branch7x7_1", in_ch, c7, 1, 1),
          ("branch7x7_2", c7, c7, 1, 7), ("branch7x7_3", c7, 192, 7, 1),
          ("branch7x7dbl_1", in_ch, c7, 1, 1), ("branch7x7dbl_2", c7, c7, 7, 1),
          ("branch7x7dbl_3", c7, c7, 1, 7), ("branch7x7dbl_4", c7, c7, 7, 1),
          ("branch7x7dbl_5", c7, 192, 1, 7), ("branch_pool", in_ch, 192, 1, 1)]


def _block_d(in_ch: int):
  return [("branch3x3_1", in_ch, 192, 1, 1), ("branch3x3_2", 192, 320, 3, 3),
          ("branch7x7x3_1", in_ch, 192, 1, 1), ("branch7x7x3_2", 192, 192, 1, 7),
          ("branch7x7x3_3", 192, 192, 7, 1), ("branch7x7x3_4", 192, 192, 3, 3)]


def _block_e(in_ch: int):
  return [("branch1x1", in_ch, 320, 1, 1), ("branch3x3_1", in_ch, 384, 1, 1),
          ("branch3x3_2a", 384, 384, 1, 3), ("branch3x3_2b", 384, 384, 3, 1),
          ("branch3x3dbl_1", in_ch, 448, 1, 1), ("branch3x3dbl_2", 448, 384, 3, 3),
          ("branch3x3dbl_3a", 384, 384, 1, 3), ("branch3x3dbl_3b", 384, 384, 3, 1),
          ("branch_pool", in_ch, 192, 1, 1)]


def conv_layers() -> list[tuple[str, int, int, int, int]]:
  """(dotted module name, in channels, out channels, kh, kw) of every BasicConv2d, in the order of
  torchvision's state dict."""
  layers = [("Conv2d_1a_3x3", 3, 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3),
            ("Conv2d_2b_3x3", 32, 64, 3, 3), ("Conv2d_3b_1x1", 64, 80, 1, 1),
            ("Conv2d_4a_3x3", 80, 192, 3, 3)]
  blocks = [("Mixed_5b", _block_a(192, 32)), ("Mixed_5c", _block_a(256, 64)),
            ("Mixed_5d", _block_a(288, 64)), ("Mixed_6a", _block_b(288)),
            ("Mixed_6b", _block_c(768, 128)), ("Mixed_6c", _block_c(768, 160)),
            ("Mixed_6d", _block_c(768, 160)), ("Mixed_6e", _block_c(768, 192)),
            ("Mixed_7a", _block_d(768)), ("Mixed_7b", _block_e(1280)),
            ("Mixed_7c", _block_e(2048))]
  for block, convs in blocks:
    layers += [(f"{block}.{name}", cin, cout, kh, kw) for name, cin, cout, kh, kw in convs]
  return layers


def state_dict_shapes() -> dict[str, tuple[int, ...]]:
  """Every tensor of pytorch-fid's state dict that the network uses (num_batches_tracked aside)."""
  shapes = {}
  for name, cin, cout, kh, kw in conv_layers():
    shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
    for stat in ("weight", "bias", "running_mean", "running_var"):
      shapes[f"{name}.bn.{stat}"] = (cout,)
  shapes["fc.weight"] = (NUM_LOGITS, FEATURE_DIM)
  shapes["fc.bias"] = (NUM_LOGITS,)
  return shapes


def random_state_dict(seed: int) -> dict[str, np.ndarray]:
  """Seeded stand-in weights in pytorch-fid's state-dict layout (float32 numpy arrays).

  Not torch's default init, which (BN at mean 0, var 1, gamma 1, beta 0) lets features collapse
  and would hide BN or pooling mistakes: conv weights N(0, 2/fan_in) (He scaling keeps ReLU
  activations from vanishing over ~95 layers), BN gamma U(0.5, 1.5), beta N(0, 0.1), running
  mean N(0, 0.1), running var U(0.5, 1.5), fc N(0, 1/2048) and bias N(0, 0.1). Drawn from one
  numpy Generator in `state_dict_shapes()` order, so any program reproduces them bit for bit.
  """
  rng = np.random.default_rng(seed)
  out = {}
  for key, shape in state_dict_shapes().items():
    if key.endswith("conv.weight"):
      fan_in = shape[1] * shape[2] * shape[3]
      value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif key.endswith("bn.weight") or key.endswith("bn.running_var"):
      value = rng.uniform(0.5, 1.5, shape)
    elif key == "fc.weight":
      value = rng.standard_normal(shape) * np.sqrt(1.0 / FEATURE_DIM)
    else:  # bn.bias, bn.running_mean, fc.bias
      value = rng.normal(0.0, 0.1, shape)
    out[key] = value.astype(np.float32)
  return out


def state_dict_to_flat(state_dict) -> dict[str, np.ndarray]:
  """pytorch-fid state dict (numpy or torch tensors) -> the flat Flax variables of the .npz.

  Checks every expected key and shape; extra keys (num_batches_tracked, AuxLogits of a full
  torchvision checkpoint) are ignored.
  """
  shapes = state_dict_shapes()
  missing = [key for key in shapes if key not in state_dict]
  if missing:
    raise JaxganError(f"not pytorch-fid's Inception state dict: {len(missing)} tensors missing, "
                      f"e.g. {missing[0]}")
  arrays = {}
  for key, shape in shapes.items():
    value = state_dict[key]
    value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    if value.shape != shape:
      raise JaxganError(f"{key} has shape {value.shape}, expected {shape}")
    arrays[key] = value.astype(np.float32)
  flat = {}
  for name, *_ in conv_layers():
    path = name.replace(".", "/")
    # torch convs are (out, in, kh, kw); Flax's are (kh, kw, in, out). Both are cross-correlations.
    flat[f"params/{path}/conv/kernel"] = arrays[f"{name}.conv.weight"].transpose(2, 3, 1, 0)
    flat[f"params/{path}/bn/scale"] = arrays[f"{name}.bn.weight"]
    flat[f"params/{path}/bn/bias"] = arrays[f"{name}.bn.bias"]
    flat[f"batch_stats/{path}/bn/mean"] = arrays[f"{name}.bn.running_mean"]
    flat[f"batch_stats/{path}/bn/var"] = arrays[f"{name}.bn.running_var"]
  flat["params/fc/kernel"] = arrays["fc.weight"].T
  flat["params/fc/bias"] = arrays["fc.bias"]
  return {key: np.ascontiguousarray(value) for key, value in flat.items()}


def unflatten(flat: dict[str, np.ndarray]) -> dict:
  """{'a/b/c': x} -> {'a': {'b': {'c': x}}}."""
  tree: dict = {}
  for key, value in flat.items():
    *parents, leaf = key.split("/")
    node = tree
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return tree


def _zeros_state_dict() -> dict[str, np.ndarray]:
  return {key: np.zeros(shape, np.float32) for key, shape in state_dict_shapes().items()}


def convert_pytorch_fid_weights(pth_path: str, out_npz: str) -> str:
  """Convert pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` into jaxgan's .npz; returns the
  sha256 of the written file. Needs torch (CPU is enough), imported here only."""
  if not os.path.isfile(pth_path):
    raise JaxganError(f"no such file: {pth_path}")
  if not out_npz.endswith(".npz"):
    raise JaxganError(f"the output must be an .npz file, got {out_npz}")
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise JaxganError("converting the .pth needs torch (pip install torch, CPU build); "
                      "the converted .npz is then used without it") from e
  try:
    state_dict = torch.load(pth_path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises many types for a bad file; report any as one line
    raise JaxganError(f"{pth_path} is not a readable torch state dict: "
                      f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
  if not isinstance(state_dict, dict):
    raise JaxganError(f"{pth_path} holds a {type(state_dict).__name__}, not a state dict")
  flat = state_dict_to_flat(state_dict)
  os.makedirs(os.path.dirname(os.path.abspath(out_npz)), exist_ok=True)
  tmp = out_npz[:-len(".npz")] + ".tmp.npz"  # np.savez appends .npz to names without it
  np.savez(tmp, **flat)
  os.replace(tmp, out_npz)
  return file_sha256(out_npz)


def file_sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      digest.update(chunk)
  return digest.hexdigest()


def resolve_weights_path(path: str | None = None, config=None) -> str:
  """Where the converted weights are: `path`, else the config's eval.inception_weights, else
  $JAXGAN_INCEPTION_WEIGHTS. Raises a one-line JaxganError naming the file and the convert command
  when none is set or the file is missing."""
  source = "argument"
  if not path and config is not None:
    path = _config_value(config, CONFIG_KEY)
    source = f"config key {CONFIG_KEY}"
  if not path:
    path = os.environ.get(ENV_VAR, "")
    source = f"${ENV_VAR}"
  if not path:
    raise JaxganError(
        f"Inception weights not found: set {CONFIG_KEY} or ${ENV_VAR} to an .npz converted once "
        f"from pytorch-fid's {WEIGHTS_FILE} with `{CONVERT_COMMAND}` (nothing is downloaded)")
  if not os.path.isfile(path):
    raise JaxganError(
        f"Inception weights file {path} (from {source}) does not exist; make it from pytorch-fid's "
        f"{WEIGHTS_FILE} with `{CONVERT_COMMAND}`")
  return path


def _config_value(config, dotted: str):
  node = config
  for part in dotted.split("."):
    try:
      node = node[part]
    except (KeyError, TypeError, AttributeError):
      return None
  return node


def load_flat(path: str) -> dict[str, np.ndarray]:
  """The flat variables of a converted .npz, checked against the expected keys and shapes."""
  try:
    with np.load(path, allow_pickle=False) as data:
      flat = {key: data[key] for key in data.files}
  except (OSError, ValueError) as e:
    raise JaxganError(f"{path} is not a readable .npz: {e}") from e
  expected = state_dict_to_flat(_zeros_state_dict())
  missing = sorted(set(expected) - set(flat))
  if missing:
    raise JaxganError(f"{path} is not a converted Inception .npz: {len(missing)} arrays missing, "
                      f"e.g. {missing[0]} (make it with `{CONVERT_COMMAND}`)")
  for key, value in expected.items():
    if flat[key].shape != value.shape:
      raise JaxganError(f"{path}: {key} has shape {flat[key].shape}, expected {value.shape}")
  return {key: flat[key].astype(np.float32) for key in expected}
