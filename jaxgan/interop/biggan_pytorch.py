"""BigGAN-PyTorch (Brock et al.'s reference code) checkpoints -> jaxgan's BigGAN.

Its `train.py` writes G.pth, G_ema.pth, D.pth (the networks' state dicts) and state_dict.pth
(the iteration count and the run's config). The architecture is read from the state dicts'
shapes: the number of blocks gives the image size, the widths give ch and the multipliers, a
'shared.weight' the shared embedding (else BN gains per class), the linear input's size against
the BN inputs' whether latents are hierarchical, 'blocks.I.1.*' the self-attention positions,
the output convolution the channels. What shapes cannot tell (D's downsampling pattern) follows
the reference's architecture tables.

Layouts: convolutions (out, in, kh, kw) -> (kh, kw, in, out); linear (out, in) -> (in, out);
G's first layer views its outputs as (C, 4, 4) where jaxgan reshapes to (4, 4, C), so its rows,
bias and SN vector are permuted; ccbn's per-class gain embeds (gain - 1); SN vectors u0 load as
they are (both keep u on the output side; the projection embedding's on the class side); sv0
(logged singular values) is dropped.

Supported: the reference's default modules (G_param = D_param = 'SN', one singular vector,
plain batch norm with stored statistics). Cross-replica / 'mybn' batch norm, several singular
vectors or unnormalised weights show up as unknown or missing keys.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.interop.state_dicts import Mapper, StateDict

# The reference's G_arch / D_arch as jaxgan channel multipliers (G: the 4x4 input's, then one
# per block), by their number.
G_MULTIPLIERS = {4: (4, 4, 4, 4), 5: (16, 16, 8, 4, 2), 6: (16, 16, 8, 4, 2, 1),
                 7: (16, 16, 8, 8, 4, 2, 1)}
D_MULTIPLIERS = {4: (4, 4, 4, 4), 5: (1, 2, 4, 8, 16), 6: (1, 2, 4, 8, 16, 16),
                 7: (1, 2, 4, 8, 8, 16, 16)}
D_DOWNSAMPLE_32 = (True, True, False, False)  # the 32x32 D; the others: all blocks but the last
INITS = {"ortho": "orthogonal", "N02": "normal", "glorot": "glorot", "xavier": "glorot"}


def _num_blocks(sd: StateDict) -> int:
  n = 0
  while f"blocks.{n}.0.conv1.weight" in sd:
    n += 1
  if n == 0:
    raise JaxganError(f"{sd.name}: key 'blocks.0.0.conv1.weight' is missing (not a BigGAN-PyTorch "
                      "G or D state dict)")
  return n


def _ch(widths: list[int], table: dict) -> tuple[int, tuple[int, ...]]:
  """(ch, multipliers) as the reference names them when the widths follow its table, else the
  widths over their greatest common divisor."""
  known = table.get(len(widths))
  if known is None and len(set(widths)) == 1:  # equal widths: the small-image pattern
    known = (4,) * len(widths)
  if known and widths[-1] % known[-1] == 0:
    ch = widths[-1] // known[-1]
    if [ch * m for m in known] == widths:
      return ch, known
  ch = math.gcd(*widths)
  return ch, tuple(w // ch for w in widths)


def match_generator(sd: StateDict) -> dict:
  """The jaxgan settings G's state dict implies: generator section, latent_dim, num_classes,
  image_size, channels."""
  if "linear.u0" not in sd:
    raise JaxganError(f"{sd.name}: key 'linear.u0' is missing: only spectrally normalised "
                      "BigGAN-PyTorch generators (G_param 'SN') are supported")
  blocks = _num_blocks(sd)
  widths = [sd.shape(f"blocks.{i}.0.conv1.weight")[1] for i in range(blocks)]
  widths.append(sd.shape(f"blocks.{blocks - 1}.0.conv1.weight")[0])
  rows, z_in = sd.shape("linear.weight")
  if rows != 16 * widths[0]:
    raise JaxganError(f"{sd.name}: key 'linear.weight' has {rows} rows, 16 x the first block's "
                      f"{widths[0]} input channels expected")
  if "shared.weight" in sd:
    num_classes, shared_dim = sd.shape("shared.weight")
    cond = sd.shape("blocks.0.0.bn1.gain.weight")[1]
    z_chunk = cond - shared_dim
    hierarchical = z_chunk > 0
    if hierarchical and z_chunk != z_in:
      raise JaxganError(f"{sd.name}: key 'blocks.0.0.bn1.gain.weight' reads {cond} inputs, not "
                        f"the shared embedding's {shared_dim} plus the input layer's z chunk of "
                        f"{z_in}")
  else:
    num_classes = sd.shape("blocks.0.0.bn1.gain.weight")[0]
    shared_dim, hierarchical = 0, False
  ch, multipliers = _ch(widths, G_MULTIPLIERS)
  attention = tuple(4 * 2 ** (i + 1) for i in range(blocks) if f"blocks.{i}.1.gamma" in sd)
  channels = sd.shape("output_layer.2.weight")[0]
  if channels not in (1, 3):
    raise JaxganError(f"{sd.name}: key 'output_layer.2.weight' makes {channels} channels; "
                      "jaxgan's images have 1 or 3")
  return dict(
      generator=dict(ch=ch, channel_multipliers=multipliers, attention_resolutions=attention,
                     shared_dim=shared_dim, hierarchical=hierarchical, spectral_norm=True),
      latent_dim=z_in * (blocks + 1) if hierarchical else z_in, num_classes=num_classes,
      image_size=4 * 2**blocks, channels=channels)


def match_discriminator(sd: StateDict, image_size: int | None = None) -> dict:
  """discriminator section, num_classes, image_size, channels from D's state dict (and G's
  image size, when G is converted too)."""
  if "linear.u0" not in sd:
    raise JaxganError(f"{sd.name}: key 'linear.u0' is missing: only spectrally normalised "
                      "BigGAN-PyTorch discriminators (D_param 'SN') are supported")
  blocks = _num_blocks(sd)
  widths = [sd.shape(f"blocks.{i}.0.conv1.weight")[0] for i in range(blocks)]
  channels = sd.shape("blocks.0.0.conv1.weight")[1]
  downsample = D_DOWNSAMPLE_32 if blocks == 4 else (True,) * (blocks - 1) + (False,)
  size = image_size or 4 * 2 ** sum(downsample) * (2 if blocks == 4 else 1)
  attention, side = [], size
  for i, down in enumerate(downsample):
    side = side // 2 if down else side
    if f"blocks.{i}.1.gamma" in sd:
      if side in attention:
        raise JaxganError(f"{sd.name}: key 'blocks.{i}.1.gamma': a second attention block at "
                          f"{side}x{side} (jaxgan's D has one per resolution)")
      attention.append(side)
  ch, multipliers = _ch(widths, D_MULTIPLIERS)
  num_classes = sd.shape("embed.weight")[0]
  return dict(
      discriminator=dict(ch=ch, channel_multipliers=multipliers, downsample=downsample,
                         attention_resolutions=tuple(attention), spectral_norm=True),
      num_classes=num_classes, image_size=size, channels=channels)


def _input_order(width: int) -> np.ndarray:
  """jaxgan's (4, 4, C) output j of G's first layer -> the reference's (C, 4, 4) row."""
  return np.arange(16 * width).reshape(width, 4, 4).transpose(1, 2, 0).reshape(-1)


def _sn_conv(m: Mapper, key: str, path: str, bias: bool = True):
  m.conv(key, path, bias)
  m.spectral(key, path)


def _attention(m: Mapper, key: str, path: str):
  for part in ("theta", "phi", "g", "o"):
    _sn_conv(m, f"{key}.{part}", f"{path}/{part}", bias=False)
  m.put(f"params/{path}/gamma", m.src.take(f"{key}.gamma", ()))


def convert_generator(sd: StateDict, abstract, settings: dict):
  """G's variables ({'params', 'batch_stats', 'spectral'}) from its state dict."""
  m = Mapper(sd, abstract)
  g = settings["generator"]
  widths = [g["ch"] * k for k in g["channel_multipliers"]]
  if g["shared_dim"]:
    m.put("params/shared/embedding", sd.take("shared.weight", m.shape("params/shared/embedding")))
  order = _input_order(widths[0])
  m.linear("linear", "input", out_order=order)
  m.spectral("linear", "input", out_order=order)
  for i in range(len(widths) - 1):
    key, path = f"blocks.{i}.0", f"block{i}"
    for conv, name in (("conv1", "conv1"), ("conv2", "conv2"), ("conv_sc", "shortcut")):
      _sn_conv(m, f"{key}.{conv}", f"{path}/{name}")
    for bn in ("bn1", "bn2"):
      for part in ("gain", "bias"):
        if g["shared_dim"]:
          m.linear(f"{key}.{bn}.{part}", f"{path}/{bn}/{part}", bias=False)
          m.spectral(f"{key}.{bn}.{part}", f"{path}/{bn}/{part}")
        else:  # per-class embeddings; jaxgan's gain table holds the gain itself, 1 + W
          target = f"params/{path}/{bn}/{part}/embedding"
          table = sd.take(f"{key}.{bn}.{part}.weight", m.shape(target))
          m.put(target, table + 1.0 if part == "gain" else table)
      m.batch_norm(f"{key}.{bn}", f"{path}/{bn}/bn", affine=False, mean="stored_mean",
                   var="stored_var")
    side = 4 * 2 ** (i + 1)
    if side in g["attention_resolutions"]:
      _attention(m, f"blocks.{i}.1", f"attention{side}")
  m.put("params/output_bn/gain", sd.take("output_layer.0.gain", m.shape("params/output_bn/gain")))
  m.put("params/output_bn/bias", sd.take("output_layer.0.bias", m.shape("params/output_bn/bias")))
  m.batch_norm("output_layer.0", "output_bn/bn", affine=False, mean="stored_mean",
               var="stored_var")
  _sn_conv(m, "output_layer.2", "output")
  return m.finish()


def convert_discriminator(sd: StateDict, abstract, settings: dict):
  """D's variables ({'params', 'spectral'}) from its state dict."""
  m = Mapper(sd, abstract)
  d = settings["discriminator"]
  side = settings["image_size"]
  for i, down in enumerate(d["downsample"]):
    key, path = f"blocks.{i}.0", f"block{i}"
    _sn_conv(m, f"{key}.conv1", f"{path}/conv1")
    _sn_conv(m, f"{key}.conv2", f"{path}/conv2")
    if f"params/{path}/shortcut/kernel" in m.want:
      _sn_conv(m, f"{key}.conv_sc", f"{path}/shortcut")
    side = side // 2 if down else side
    if f"blocks.{i}.1.gamma" in sd:
      _attention(m, f"blocks.{i}.1", f"attention{side}")
  m.linear("linear", "head/linear")
  m.spectral("linear", "head/linear")
  m.put("params/head/embed/embedding",
        sd.take("embed.weight", m.shape("params/head/embed/embedding")))
  m.spectral("embed", "head/embed")
  return m.finish()


def networks(settings: dict):
  """(G, D) flax modules for matched settings (as jaxgan.models.biggan.build makes them)."""
  from jaxgan.models.biggan import BigGANGenerator  # pylint: disable=g-import-not-at-top
  from jaxgan.models.sagan import SAGANDiscriminator  # pylint: disable=g-import-not-at-top
  g, d = settings.get("generator"), settings.get("discriminator")
  generator = discriminator = None
  if g:
    generator = BigGANGenerator(
        image_size=settings["image_size"], channels=settings["channels"],
        num_classes=settings["num_classes"], ch=g["ch"],
        channel_multipliers=tuple(g["channel_multipliers"]),
        attention_resolutions=tuple(g["attention_resolutions"]), shared_dim=g["shared_dim"],
        hierarchical=g["hierarchical"])
  if d:
    discriminator = SAGANDiscriminator(
        num_classes=settings["num_classes"], ch=d["ch"],
        channel_multipliers=tuple(d["channel_multipliers"]), downsample=tuple(d["downsample"]),
        attention_resolutions=tuple(d["attention_resolutions"]))
  return generator, discriminator


def abstract_variables(module, settings: dict, which: str):
  """The variables' shapes of G or D for these settings (no arrays computed)."""
  labels = jnp.zeros((2,), jnp.int32)
  if which == "g":
    z = jnp.zeros((2, settings["latent_dim"]), jnp.float32)
    fn = lambda: module.init(jax.random.PRNGKey(0), z, labels, train=True)
  else:
    size, c = settings["image_size"], settings["channels"]
    x = jnp.zeros((2, size, size, c), jnp.float32)
    fn = lambda: module.init(jax.random.PRNGKey(0), x, labels, train=True)
  return jax.eval_shape(fn)


def convert(g_sd: StateDict | None, d_sd: StateDict | None, ema_sd: StateDict | None = None):
  """-> (settings, {'g': vars, 'd': vars, 'ema': vars}) for the state dicts given (at least one
  of G / G_ema). G and G_ema must agree on the architecture, and D with them."""
  source = g_sd or ema_sd
  if source is None:
    raise JaxganError("convert needs G.pth or G_ema.pth")
  settings = match_generator(source)
  if ema_sd is not None and g_sd is not None:
    other = match_generator(ema_sd)
    if other != settings:
      raise JaxganError(f"{ema_sd.name} and {g_sd.name} hold different architectures")
  if d_sd is not None:
    d_settings = match_discriminator(d_sd, settings["image_size"])
    for key in ("num_classes", "channels"):
      if d_settings[key] != settings[key]:
        raise JaxganError(f"{d_sd.name} has {key} {d_settings[key]}, G has {settings[key]}")
    settings["discriminator"] = d_settings["discriminator"]
  generator, discriminator = networks(settings)
  g_abstract = abstract_variables(generator, settings, "g")
  out = {}
  if g_sd is not None:
    out["g"] = convert_generator(g_sd, g_abstract, settings)
  if ema_sd is not None:
    out["ema"] = convert_generator(ema_sd, g_abstract, settings)
  if d_sd is not None:
    out["d"] = convert_discriminator(d_sd, abstract_variables(discriminator, settings, "d"),
                                     settings)
  return settings, out
