"""pytorch-CycleGAN-and-pix2pix (Zhu, Park, Isola et al.'s reference code) checkpoints ->
jaxgan's CycleGAN ResNet generators, pix2pix U-Nets and PatchGANs.

Its models save `latest_net_G.pth` / `latest_net_D.pth` (pix2pix) or `latest_net_G_A.pth`,
`latest_net_G_B.pth`, `latest_net_D_A.pth`, `latest_net_D_B.pth` (CycleGAN; the released
pre-trained models are G_A files). The architecture is read from the state dict:

- resnet_9blocks / resnet_6blocks (`model.1.weight` a 7x7 stem): the number of residual blocks,
  ngf, dropout (`conv_block.6` rather than `.5` holds the second conv), the norm;
- unet_256 / unet_128 (`model.model.0.weight`): the depth (nested `model.3` submodules), ngf,
  the norm; dropout leaves nothing in a state dict: the reference's pix2pix default
  (dropout 0.5 where its code puts it, `dropout_layers='code'`) is assumed;
- basic / n_layers PatchGAN (`model.0.weight` 4x4): n_layers, ndf, the norm.

The norm is 'batch' when the norm layers hold a weight and running statistics, else 'instance'
(no affine; the running statistics some older files carry for instance norm, which the reference
itself deletes on loading, are dropped). Layouts: convolutions (out, in, kh, kw) -> (kh, kw, in,
out); transposed convolutions (in, out, kh, kw) with their taps flipped -> (kh, kw, in, out).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp

from jaxgan.errors import JaxganError
from jaxgan.interop.state_dicts import Mapper, StateDict
from jaxgan.models import cyclegan as cyclegan_models
from jaxgan.models import pix2pix as pix2pix_models


def _norm_kind(sd: StateDict, key: str) -> str:
  return "batch" if f"{key}.weight" in sd and f"{key}.running_mean" in sd else "instance"


def _norm(m: Mapper, kind: str, key: str, path: str | None):
  if kind == "batch":
    m.batch_norm(key, path)
  else:
    m.src.ignore(f"{key}.running_mean", f"{key}.running_var", f"{key}.num_batches_tracked")


# --------------------------------------------------------------------------------- generators


def generator_kind(sd: StateDict) -> str:
  if "model.model.0.weight" in sd:
    return "unet"
  if "model.1.weight" in sd and sd.shape("model.1.weight")[2:] == (7, 7):
    return "resnet"
  raise JaxganError(f"{sd.name}: neither a ResNet generator ('model.1.weight', 7x7) nor a U-Net "
                    "('model.model.0.weight'): key 'model.1.weight' is missing")


def match_resnet(sd: StateDict) -> dict:
  ngf, input_nc = sd.shape("model.1.weight")[:2]
  norm = _norm_kind(sd, "model.2")
  blocks = 0
  while f"model.{10 + blocks}.conv_block.1.weight" in sd:
    blocks += 1
  dropout = blocks > 0 and "model.10.conv_block.6.weight" in sd
  head = f"model.{10 + blocks + 7}.weight"
  output_nc = sd.shape(head)[0]
  return dict(kind="resnet", input_nc=input_nc, output_nc=output_nc, base_features=ngf,
              num_blocks=blocks, norm=norm, dropout=0.5 if dropout else 0.0)


def _unet_levels(sd: StateDict) -> list[str]:
  """The reference's nested blocks' Sequential prefixes, outermost first."""
  prefixes, prefix = ["model.model"], "model.model.1.model"
  while f"{prefix}.1.weight" in sd:
    prefixes.append(prefix)
    if f"{prefix}.5.weight" not in sd:  # the innermost block: [lrelu, down, relu, up, norm]
      return prefixes
    prefix += ".3.model"
  raise JaxganError(f"{sd.name}: key {prefix + '.1.weight'!r} is missing (a U-Net block without "
                    "its down-convolution)")


def match_unet(sd: StateDict) -> dict:
  levels = _unet_levels(sd)
  ngf, input_nc = sd.shape("model.model.0.weight")[:2]
  output_nc = sd.shape("model.model.3.weight")[1]
  norm = _norm_kind(sd, f"{levels[1]}.2") if len(levels) > 2 else _norm_kind(
      sd, f"{levels[1]}.4")
  return dict(kind="unet", input_nc=input_nc, output_nc=output_nc, base_features=ngf,
              num_downs=len(levels), norm=norm, dropout=0.5, dropout_layers="code")


def generator_module(arch: dict):
  if arch["kind"] == "resnet":
    return cyclegan_models.ResnetGenerator(
        out_channels=arch["output_nc"], base_features=arch["base_features"],
        num_blocks=arch["num_blocks"], norm=arch["norm"], dropout=arch["dropout"])
  return pix2pix_models.UNetGenerator(
      out_channels=arch["output_nc"], base_features=arch["base_features"], max_multiplier=8,
      num_downs=arch["num_downs"], norm=arch["norm"], dropout=arch["dropout"],
      dropout_layers=arch["dropout_layers"])


def convert_resnet(sd: StateDict, abstract, arch: dict):
  m = Mapper(sd, abstract)
  norm, bias = arch["norm"], arch["norm"] == "instance"
  norms = iter(f"BatchNorm_{i}" for i in range(8))  # the top level's norms, in order
  m.conv("model.1", "stem/conv", bias)
  _norm(m, norm, "model.2", next(norms) if norm == "batch" else None)
  for i, index in enumerate((4, 7)):
    m.conv(f"model.{index}", f"down{i}", bias)
    _norm(m, norm, f"model.{index + 1}", next(norms) if norm == "batch" else None)
  second = 6 if arch["dropout"] else 5
  for b in range(arch["num_blocks"]):
    key, path = f"model.{10 + b}.conv_block", f"block{b}"
    m.conv(f"{key}.1", f"{path}/ReflectConv_0/conv", bias)
    _norm(m, norm, f"{key}.2", f"{path}/BatchNorm_0")
    m.conv(f"{key}.{second}", f"{path}/ReflectConv_1/conv", bias)
    _norm(m, norm, f"{key}.{second + 1}", f"{path}/BatchNorm_1")
  up = 10 + arch["num_blocks"]
  for i, index in enumerate((up, up + 3)):
    m.transposed_conv(f"model.{index}", f"up{i}", bias)
    _norm(m, norm, f"model.{index + 1}", next(norms) if norm == "batch" else None)
  m.conv(f"model.{up + 7}", "head/conv")
  return m.finish()


def convert_unet(sd: StateDict, abstract, arch: dict):
  m = Mapper(sd, abstract)
  norm, bias = arch["norm"], arch["norm"] == "instance"
  levels = _unet_levels(sd)
  downs = len(levels)
  m.conv("model.model.0", "down0", bias)
  m.transposed_conv("model.model.3", "up0")
  for k, prefix in enumerate(levels[1:], start=1):
    m.conv(f"{prefix}.1", f"down{k}", bias)
    if k < downs - 1:
      _norm(m, norm, f"{prefix}.2", f"down{k}_norm")
      m.transposed_conv(f"{prefix}.5", f"up{k}", bias)
      _norm(m, norm, f"{prefix}.6", f"up{k}_norm")
    else:
      m.transposed_conv(f"{prefix}.3", f"up{k}", bias)
      _norm(m, norm, f"{prefix}.4", f"up{k}_norm")
  return m.finish()


# ---------------------------------------------------------------------------- discriminators


def match_patchgan(sd: StateDict) -> dict:
  if "model.0.weight" not in sd or sd.shape("model.0.weight")[2:] != (4, 4):
    raise JaxganError(f"{sd.name}: key 'model.0.weight' (a 4x4 convolution) is missing: not an "
                      "NLayerDiscriminator (basic / n_layers)")
  convs = sorted(int(k.split(".")[1]) for k in sd.keys()
                 if re.fullmatch(r"model\.\d+\.weight", k) and len(sd.shape(k)) == 4)
  n_layers = len(convs) - 2
  if n_layers < 1 or convs != [0] + [2 + 3 * i for i in range(n_layers + 1)]:
    raise JaxganError(f"{sd.name}: its convolutions sit at model.{convs}, not an "
                      "NLayerDiscriminator's")
  ndf, input_nc = sd.shape("model.0.weight")[:2]
  field = pix2pix_models.receptive_field(pix2pix_models.patch_layers(n_layers))
  return dict(input_nc=input_nc, base_features=ndf, n_layers=n_layers, receptive_field=field,
              norm=_norm_kind(sd, "model.3"))


def patchgan_module(arch: dict):
  return pix2pix_models.PatchDiscriminator(
      receptive_field=arch["receptive_field"], base_features=arch["base_features"],
      max_multiplier=8, norm=arch["norm"])


def convert_patchgan(sd: StateDict, abstract, arch: dict):
  m = Mapper(sd, abstract)
  norm = arch["norm"]
  m.conv("model.0", "conv0")
  for i in range(1, arch["n_layers"] + 1):
    index = 2 + 3 * (i - 1)
    m.conv(f"model.{index}", f"conv{i}", norm == "instance")
    _norm(m, norm, f"model.{index + 1}", f"conv{i}_norm")
  m.conv(f"model.{2 + 3 * arch['n_layers']}", f"conv{arch['n_layers'] + 1}")
  return m.finish()


# ------------------------------------------------------------------------------------ driving


def abstract_generator(arch: dict, image_size: int):
  x = jnp.zeros((2, image_size, image_size, arch["input_nc"]), jnp.float32)
  module = generator_module(arch)
  return module, jax.eval_shape(lambda: module.init(
      {"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(0)}, x, train=True))


def abstract_patchgan(arch: dict, image_size: int):
  x = jnp.zeros((2, image_size, image_size, arch["input_nc"]), jnp.float32)
  module = patchgan_module(arch)
  return module, jax.eval_shape(lambda: module.init(jax.random.PRNGKey(0), x, train=True))


def convert_generator(sd: StateDict, image_size: int | None = None):
  """-> (arch, variables, image_size); image_size defaults to the U-Net's native size
  (2^num_downs) or 256 (the ResNet's CycleGAN release)."""
  kind = generator_kind(sd)
  arch = match_unet(sd) if kind == "unet" else match_resnet(sd)
  size = image_size or (2 ** arch["num_downs"] if kind == "unet" else 256)
  _, abstract = abstract_generator(arch, size)
  convert = convert_unet if kind == "unet" else convert_resnet
  return arch, convert(sd, abstract, arch), size


def convert_discriminator(sd: StateDict, image_size: int):
  arch = match_patchgan(sd)
  _, abstract = abstract_patchgan(arch, image_size)
  return arch, convert_patchgan(sd, abstract, arch)
