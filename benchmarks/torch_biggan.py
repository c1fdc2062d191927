"""The PyTorch baseline of the BigGAN step: BigGAN-PyTorch's G and D and its training step.

Networks: jaxgan.interop.torch_reference.biggan (BigGAN-PyTorch's modules: SN with one power
iteration per call, hierarchical z and the shared embedding, conditional BN, SAGAN attention,
the projection D), built with a BigGAN config's widths (default configs/biggan_imagenet128.py,
1000 classes), orthogonal initialisation as its `--G_init ortho --D_init ortho`. Their parameter
counts are checked against jaxgan's for the same config (70,433,988 / 87,982,370 at 128x128).

The step is BigGAN-PyTorch's `train_fns.GAN_training_function` with the config's settings:

  n_critic D steps: fresh z and labels; G(z, shared(y)) without gradients; D on the fakes and
      the real batch concatenated in one call (its `D(torch.cat([G_z, x]), ...)`), hinge loss
      relu(1 - D(real)) + relu(1 + D(fake)); backward; Adam step.
  G step: D's parameters frozen; fresh z and labels; -D(G(z)) plus the orthogonal regulariser
      (config g_terms.ortho_reg, computed as jaxgan does from the smaller Gram matrix, in
      float32); backward; Adam step; then the EMA of G (rate 0 before ema.start, as its
      `ema.update(itr)`), every step.

jaxgan calls D on real and fake separately (same arithmetic: D has no batch statistics).
grad_accum_steps must be 1 (benchmarks run one batch per device).

  .venv/bin/python benchmarks/torch_biggan.py [--config configs/biggan_imagenet128.py]
      [--device cuda] [--setting bf16+channels_last+compile] [--steps N]
      [--config.batch_size=256 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (HERE, ROOT):
  if path not in sys.path:
    sys.path.insert(0, path)

import torch_timing  # pylint: disable=g-import-not-at-top,wrong-import-position
from jaxgan.interop.torch_reference import biggan as ref  # pylint: disable=wrong-import-position

BIGGAN_128 = {"generator": 70_433_988, "discriminator": 87_982_370}


def count_params(module) -> int:
  return sum(p.numel() for p in module.parameters())


def load_config(path, overrides):
  from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
  config = load_config_file(path)
  apply_overrides(config, overrides)
  return config


def num_classes_of(config) -> int:
  """ImageNet's 1000 classes for the ImageNet configs (their data is not read), else
  data.num_classes (synthetic data)."""
  if "imagenet" in config.data.name:
    return 1000
  return config.data.get("num_classes", 0) or 10


def jaxgan_param_counts(config, num_classes: int) -> dict[str, int]:
  """G's and D's parameter counts from jaxgan's own networks, built abstractly."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jaxgan import models  # pylint: disable=g-import-not-at-top
  from jaxgan.data.base import DataInfo  # pylint: disable=g-import-not-at-top
  size, channels = config.data.image_size, config.data.channels
  info = DataInfo(config.data.name, "images", (size, size, channels), num_classes)
  generator, discriminator = models.build(config, info)
  z = jnp.zeros((2, config.latent_dim))
  labels = jnp.zeros((2,), jnp.int32)
  x = jnp.zeros((2, size, size, channels))
  count = lambda v: int(sum(a.size for a in jax.tree_util.tree_leaves(v["params"])))
  return {
      "generator": count(jax.eval_shape(lambda: generator.init(jax.random.PRNGKey(0), z, labels,
                                                               train=True))),
      "discriminator": count(jax.eval_shape(lambda: discriminator.init(
          jax.random.PRNGKey(0), x, labels, train=True))),
  }


def check_supported(config):
  problems = []
  if config.architecture != "biggan" or not config.conditional:
    problems.append(f"architecture {config.architecture!r} conditional={config.conditional} "
                    "(needs a conditional 'biggan')")
  if config.loss != "hinge":
    problems.append(f"loss {config.loss!r} (needs 'hinge')")
  if config.grad_accum_steps != 1:
    problems.append(f"grad_accum_steps={config.grad_accum_steps} (needs 1)")
  if config.d_terms or set(config.g_terms) - {"ortho_reg"}:
    problems.append("terms other than g_terms.ortho_reg")
  for side in ("g", "d"):
    opt = config.optimizer[side]
    if opt.name != "adam" or opt.lr_decay != "constant":
      problems.append(f"optimizer.{side} {opt.name}/{opt.lr_decay} (needs constant adam)")
  if problems:
    raise SystemExit("torch_biggan.py mirrors BigGAN's step only; unsupported: "
                     + ", ".join(problems))


def build(config, num_classes, device):
  g, d = config.generator, config.discriminator
  size, channels = config.data.image_size, config.data.channels
  generator = ref.Generator(ch=g.ch, channel_multipliers=tuple(g.channel_multipliers),
                            attention=tuple(g.attention_resolutions), dim_z=config.latent_dim,
                            shared_dim=g.shared_dim, n_classes=num_classes,
                            hier=g.hierarchical, out_channels=channels)
  discriminator = ref.Discriminator(ch=d.ch, channel_multipliers=tuple(d.channel_multipliers),
                                    downsample=list(d.downsample) or None,
                                    attention=tuple(d.attention_resolutions),
                                    n_classes=num_classes, image_size=size, in_channels=channels)
  for net in (generator, discriminator):  # BigGAN-PyTorch's init='ortho'
    for module in net.modules():
      if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
        nn.init.orthogonal_(module.weight)
  return generator.to(device), discriminator.to(device)


def ortho_penalty(params) -> torch.Tensor:
  """sum_W ||W^T W * (1 - I)||_F^2 over G's >= 2-d weights but the shared embedding, W viewed as
  (filters, fan_in) rows, from the smaller Gram matrix (jaxgan.losses.off_diagonal_gram_sq)."""
  total = 0.0
  for name, w in params:
    if w.ndim < 2 or name.startswith("shared"):
      continue
    m = w.float().reshape(w.shape[0], -1)  # filters x fan_in
    if m.shape[0] <= m.shape[1]:
      gram = m @ m.t()
      total = total + (gram * (1 - torch.eye(gram.shape[0], device=m.device))).square().sum()
    else:
      gram = m.t() @ m
      total = total + gram.square().sum() - m.square().sum(1).square().sum()
  return total


def make_step(config, g, d, g_call, d_call, g_opt, d_opt, ema, num_classes, device, setting):
  b, dim_z, n_critic = config.batch_size, config.latent_dim, config.n_critic
  beta = config.g_terms.ortho_reg.weight if "ortho_reg" in config.g_terms else 0.0
  ema_decay, ema_start = config.ema.decay, config.ema.start
  d_params, g_named = list(d.parameters()), list(g.named_parameters())
  amp = lambda: torch_timing.autocast(device, setting)
  memory_format = torch.channels_last if setting["channels_last"] else torch.contiguous_format
  iteration = [1]  # the timed steps are steady-state steps after the first, as jaxgan's

  def latents():
    z = torch.randn(b, dim_z, device=device)
    y = torch.randint(0, num_classes, (b,), device=device)
    return z, y

  def step(real, real_y):
    for _ in range(n_critic):
      z, y = latents()
      with torch.no_grad(), amp():
        fake = g_call(z, g.shared(y))
      d_opt.zero_grad(set_to_none=True)
      with amp():
        x = torch.cat([fake.to(real.dtype), real]).contiguous(memory_format=memory_format)
        out = d_call(x, torch.cat([y, real_y])).float()
        d_fake, d_real = torch.split(out, [b, b])
        d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
      d_loss.backward()
      d_opt.step()
    for p in d_params:
      p.requires_grad_(False)
    z, y = latents()
    g_opt.zero_grad(set_to_none=True)
    with amp():
      g_loss = -d_call(g_call(z, g.shared(y)).contiguous(memory_format=memory_format),
                       y).float().mean()
    total = g_loss + beta * ortho_penalty(g_named) if beta else g_loss
    total.backward()
    g_opt.step()
    for p in d_params:
      p.requires_grad_(True)
    if ema is not None:
      with torch.no_grad():
        rate = ema_decay if iteration[0] >= ema_start else 0.0
        for e, p in zip(ema, g.parameters()):
          e.lerp_(p, 1.0 - rate)
    iteration[0] += 1
    return d_loss.detach(), g_loss.detach()

  return step


def prepare(config, expected_counts=None, device="cpu", setting="fp32", threads=None):
  """Builds and checks BigGAN-PyTorch's G and D; returns (step() on one fixed real batch, the
  torch device, a description)."""
  check_supported(config)
  setting = torch_timing.parse_setting(setting)
  torch.set_num_threads(threads or torch_timing.default_threads())
  torch.manual_seed(config.seed)
  dev = torch_timing.prepare_device(device)
  num_classes = num_classes_of(config)
  g, d = build(config, num_classes, dev)
  counts = {"generator": count_params(g), "discriminator": count_params(d)}
  if expected_counts is not None:
    assert counts == expected_counts, (
        f"parameter counts differ: torch {counts}, jaxgan {expected_counts}")
  if setting["channels_last"]:
    g.to(memory_format=torch.channels_last)
    d.to(memory_format=torch.channels_last)
  g.train()
  d.train()
  adam = lambda params, o: torch.optim.Adam(params, lr=o.lr, betas=(o.b1, o.b2), eps=o.eps)
  g_opt, d_opt = adam(g.parameters(), config.optimizer.g), adam(d.parameters(), config.optimizer.d)
  ema = [p.detach().clone() for p in g.parameters()] if config.ema.decay > 0 else None
  notes = []
  step = make_step(config, g, d, torch_timing.maybe_compile(g, setting, notes),
                   torch_timing.maybe_compile(d, setting, notes), g_opt, d_opt, ema,
                   num_classes, dev, setting)
  size, channels, b = config.data.image_size, config.data.channels, config.batch_size
  real = torch.rand(b, channels, size, size, device=dev) * 2 - 1
  if setting["channels_last"]:
    real = real.contiguous(memory_format=torch.channels_last)
  real_y = torch.randint(0, num_classes, (b,), device=dev)
  meta = {
      "framework": "pytorch",
      "model": "biggan",
      "torch": torch.__version__,
      "setting": setting["name"],
      "notes": notes,
      "batch_size": b,
      "n_critic": config.n_critic,
      "image_shape": [size, size, channels],
      "num_classes": num_classes,
      "param_counts": counts,
      "param_counts_jaxgan": expected_counts,
  }
  return (lambda: step(real, real_y)), dev, meta


def run(config, steps=None, warmup=3, min_steps=5, min_time=10.0, max_time=60.0,
        expected_counts=None, device="cpu", setting="fp32", threads=None):
  return torch_timing.measure(prepare(config, expected_counts, device, setting, threads), config, steps, warmup,
                              min_steps, min_time, max_time)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", default=os.path.join(ROOT, "configs", "biggan_imagenet128.py"))
  parser.add_argument("--device", default="cpu")
  parser.add_argument("--setting", default="fp32")
  parser.add_argument("--steps", type=int, default=None)
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--min-steps", type=int, default=5)
  parser.add_argument("--min-time", type=float, default=10.0)
  parser.add_argument("--max-time", type=float, default=60.0)
  parser.add_argument("--no-check", action="store_true",
                      help="skip the parameter-count check against jaxgan (no jax import)")
  args, rest = parser.parse_known_args(argv)
  overrides = {}
  for item in rest:
    if not item.startswith("--config.") or "=" not in item:
      parser.error(f"unrecognized argument {item!r} (overrides are --config.KEY=VALUE)")
    key, value = item[len("--config."):].split("=", 1)
    overrides[key] = value
  overrides.setdefault("grad_accum_steps", "1")
  config = load_config(args.config, overrides)
  expected = None if args.no_check else jaxgan_param_counts(config, num_classes_of(config))
  result = run(config, args.steps, args.warmup, args.min_steps, args.min_time, args.max_time,
               expected, args.device, args.setting)
  result["config"] = os.path.splitext(os.path.basename(args.config))[0]
  result["config_overrides"] = overrides
  print(json.dumps(result), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
