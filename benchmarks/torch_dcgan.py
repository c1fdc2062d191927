"""The PyTorch baseline for benchmarks/throughput.py: jaxgan's DCGAN step, written in PyTorch.

The networks of jaxgan/models/dcgan.py for a DCGAN config (default configs/dcgan_digits.py):

  G: Linear(z -> 4*4*F, no bias) + BN + ReLU, then ConvTranspose2d(4, stride 2, padding 1,
     no bias) + BN + ReLU blocks halving the features, then ConvTranspose2d(4, 2, 1) + tanh;
  D: Conv2d(4, 2, 1) + LeakyReLU(0.2), then Conv2d(4, 2, 1, no bias) + BN + LeakyReLU blocks
     doubling the features, then flatten + Linear(1);

N(0, 0.02) weights, BN eps 1e-5 and momentum 0.1 (flax's 0.9), Adam with the config's lr and
betas for both, and the step jaxgan's adversarial step runs (jaxgan/train/adversarial.py):

  D update: fresh z; G(z) in training mode without gradients; D(real) and D(fake) in two
            separate forward passes (BN statistics per pass, as jaxgan); the non-saturating
            loss softplus(-D(real)) + softplus(D(fake)); backward; Adam step.
  G update: fresh z; G(z) in training mode; D(G(z)) in training mode; softplus(-D(G(z)));
            backward into G only (jax.grad(g_loss)(g_params) never forms D's weight gradients,
            so D's parameters are frozen for this pass); Adam step.

Runs on CPU with torch.set_num_threads(os.cpu_count()) (the CPUs the process may use, so 1
under `taskset -c 0`), in PyTorch's usual NCHW layout or, with --channels-last, in NHWC (jaxgan's
layout; PyTorch's CPU transposed convolutions are faster in it). The parameter counts of G and D
are checked against jaxgan's for the same config. One real batch is made once and reused. Prints
one JSON line: images/sec = batch_size / median step time, and the median CPU time per step.

  /work/venv/bin/python benchmarks/torch_dcgan.py [--config configs/dcgan_digits.py]
      [--channels-last] [--steps N] [--warmup N] [--min-time S] [--config.KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import torch_timing  # pylint: disable=g-import-not-at-top,wrong-import-position


def _num_blocks(image_size: int) -> int:
  blocks = int(math.log2(image_size // 4))
  if image_size < 8 or 4 * 2**blocks != image_size:
    raise ValueError(f"DCGAN needs an image size of 4*2^k >= 8, got {image_size}")
  return blocks


class Generator(nn.Module):

  def __init__(self, latent_dim, image_size, channels, base_features, channels_last=False):
    super().__init__()
    blocks = _num_blocks(image_size)
    features = base_features * 2 ** (blocks - 1)
    self.features = features
    self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
    self.project = nn.Linear(latent_dim, 4 * 4 * features, bias=False)
    self.project_bn = nn.BatchNorm2d(features, eps=1e-5, momentum=0.1)
    layers = []
    for _ in range(blocks - 1):
      layers += [nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                 nn.BatchNorm2d(features // 2, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True)]
      features //= 2
    layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=True), nn.Tanh()]
    self.body = nn.Sequential(*layers)

  def forward(self, z):
    # jaxgan reshapes the projection as (B, 4, 4, F) in NHWC; the layout of the Linear's output
    # units is a relabelling of its weights, so (B, F, 4, 4) here computes the same function.
    h = self.project(z).view(z.shape[0], self.features, 4, 4)
    h = h.contiguous(memory_format=self.memory_format)
    h = F.relu(self.project_bn(h), inplace=True)
    return self.body(h)


class Discriminator(nn.Module):

  def __init__(self, image_size, channels, base_features):
    super().__init__()
    blocks = _num_blocks(image_size)
    layers, features, cin = [], base_features, channels
    for block in range(blocks):
      layers.append(nn.Conv2d(cin, features, 4, 2, 1, bias=block == 0))
      if block > 0:
        layers.append(nn.BatchNorm2d(features, eps=1e-5, momentum=0.1))
      layers.append(nn.LeakyReLU(0.2, inplace=True))
      cin, features = features, features * 2
    self.body = nn.Sequential(*layers)
    self.head = nn.Linear(cin * 4 * 4, 1)

  def forward(self, x):
    return self.head(self.body(x).flatten(1))[:, 0]


def init_weights(module):
  """DCGAN's N(0, 0.02) weights, zero biases; BN scale 1 and offset 0 (flax's defaults)."""
  if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
    nn.init.normal_(module.weight, 0.0, 0.02)
    if module.bias is not None:
      nn.init.zeros_(module.bias)
  elif isinstance(module, nn.BatchNorm2d):
    nn.init.ones_(module.weight)
    nn.init.zeros_(module.bias)


default_threads = torch_timing.default_threads


def count_params(module) -> int:
  return sum(p.numel() for p in module.parameters())


def load_config(path, overrides):
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  from jaxgan.config import apply_overrides, load_config_file  # pylint: disable=g-import-not-at-top
  config = load_config_file(path)
  apply_overrides(config, overrides)
  return config


def check_supported(config):
  problems = []
  if config.architecture != "dcgan":
    problems.append(f"architecture {config.architecture!r} (needs 'dcgan')")
  if config.generator.norm != "batch" or config.discriminator.norm != "batch":
    problems.append("norm other than 'batch'")
  if config.loss != "non_saturating":
    problems.append(f"loss {config.loss!r} (needs 'non_saturating')")
  for key in ("n_critic", "grad_accum_steps"):
    if config[key] != 1:
      problems.append(f"{key}={config[key]} (needs 1)")
  if config.clip_value:
    problems.append(f"clip_value={config.clip_value} (needs 0)")
  for side in ("d_terms", "g_terms"):
    active = [name for name, term in config[side].items() if term.get("weight", 0)]
    if active:
      problems.append(f"{side} {', '.join(active)} (needs none)")

  if config.ema.decay:
    problems.append("ema.decay > 0")
  if config.conditional:
    problems.append("conditional=True")
  if config.info_code.categories:
    problems.append("info_code.categories > 0 (InfoGAN's code; --config.info_code.categories=0)")
  if config.compute_dtype != "float32":
    problems.append(f"compute_dtype {config.compute_dtype!r}")
  for side in ("g", "d"):
    opt = config.optimizer[side]
    if opt.name != "adam" or opt.lr_decay != "constant":
      problems.append(f"optimizer.{side} {opt.name}/{opt.lr_decay} (needs constant adam)")
  if problems:
    raise SystemExit("torch_dcgan.py mirrors the plain DCGAN step only; unsupported: "
                     + ", ".join(problems))


def build(config, channels_last=False, device="cpu"):
  size, channels = config.data.image_size, config.data.channels
  g = Generator(config.latent_dim, size, channels, config.generator.base_features, channels_last)
  d = Discriminator(size, channels, config.discriminator.base_features)
  g.apply(init_weights)
  d.apply(init_weights)
  g.to(device)
  d.to(device)
  if channels_last:
    g.to(memory_format=torch.channels_last)
    d.to(memory_format=torch.channels_last)

  def adam(params, opt):
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.b1, opt.b2), eps=opt.eps)

  return g, d, adam(g.parameters(), config.optimizer.g), adam(d.parameters(), config.optimizer.d)


def make_step(config, g, d, g_opt, d_opt, device=torch.device("cpu"), setting=None):
  """One training step; with `setting` (torch_timing.parse_setting) the forward passes run
  under its autocast and g, d are the (possibly compiled) modules to call."""
  batch_size, latent_dim = config.batch_size, config.latent_dim
  d_params = list(d.parameters())
  amp = lambda: torch_timing.autocast(device, setting or {"bf16": False})
  uniform = config.latent.distribution == "uniform"

  def latents():  # the config's z: N(0, I) or U[-1, 1] (jaxgan.train.networks.draw_latents)
    if uniform:
      return torch.rand(batch_size, latent_dim, device=device) * 2 - 1
    return torch.randn(batch_size, latent_dim, device=device)

  def step(real):
    # D update.
    z = latents()
    with torch.no_grad(), amp():
      fake = g(z)
    d_opt.zero_grad(set_to_none=True)
    with amp():
      real_logits = d(real).float()
      fake_logits = d(fake).float()
      d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    d_loss.backward()
    d_opt.step()
    # G update: gradients into G only.
    for p in d_params:
      p.requires_grad_(False)
    z = latents()
    g_opt.zero_grad(set_to_none=True)
    with amp():
      g_loss = F.softplus(-d(g(z)).float()).mean()
    g_loss.backward()
    g_opt.step()
    for p in d_params:
      p.requires_grad_(True)
    return d_loss.detach(), g_loss.detach()

  return step


def prepare(config, expected_counts=None, threads=None, channels_last=False, device="cpu",
            setting=None):
  """Builds and checks the PyTorch DCGAN; returns (step() on one fixed real batch, the torch
  device, a description). setting: a torch_timing setting string ('fp32',
  'bf16+channels_last+compile', ...); channels_last=True adds channels_last to it."""
  check_supported(config)
  setting = torch_timing.parse_setting((setting or "fp32") +
                                       (",channels_last" if channels_last else ""))
  channels_last = setting["channels_last"]
  threads = threads or default_threads()
  torch.set_num_threads(threads)
  torch.manual_seed(config.seed)
  dev = torch_timing.prepare_device(device)
  g, d, g_opt, d_opt = build(config, channels_last, dev)
  g.train()
  d.train()
  counts = {"generator": count_params(g), "discriminator": count_params(d)}
  if expected_counts is not None:
    assert counts == expected_counts, (
        f"parameter counts differ: torch {counts}, jaxgan {expected_counts}")
  notes = []
  step = make_step(config, torch_timing.maybe_compile(g, setting, notes),
                   torch_timing.maybe_compile(d, setting, notes), g_opt, d_opt, dev, setting)
  size, channels = config.data.image_size, config.data.channels
  # One real batch, made once and reused (data loading is not measured).
  real = torch.rand(config.batch_size, channels, size, size, device=dev) * 2 - 1
  if channels_last:
    real = real.contiguous(memory_format=torch.channels_last)
  meta = {
      "framework": "pytorch",
      "torch": torch.__version__,
      "threads": threads,
      "memory_format": "channels_last" if channels_last else "nchw",
      "setting": setting["name"],
      "notes": notes,
      "batch_size": config.batch_size,
      "n_critic": config.n_critic,
      "latent_dim": config.latent_dim,
      "image_shape": [size, size, channels],
      "param_counts": counts,
      "param_counts_jaxgan": expected_counts,
  }
  return (lambda: step(real)), dev, meta


def run(config, steps=None, warmup=3, min_steps=5, min_time=10.0, max_time=60.0,
        expected_counts=None, threads=None, channels_last=False, device="cpu", setting=None):
  """Builds, checks and times the PyTorch DCGAN step; returns the result dict."""
  return torch_timing.measure(prepare(config, expected_counts, threads, channels_last, device, setting), config, steps, warmup,
                              min_steps, min_time, max_time)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--config", default=os.path.join(ROOT, "configs", "dcgan_digits.py"))
  parser.add_argument("--steps", type=int, default=None,
                      help="timed steps (default: adaptive, >= --min-steps and --min-time)")
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--min-steps", type=int, default=5)
  parser.add_argument("--min-time", type=float, default=10.0)
  parser.add_argument("--max-time", type=float, default=60.0)
  parser.add_argument("--threads", type=int, default=None,
                      help="default: os.cpu_count() (the CPUs usable, under taskset)")
  parser.add_argument("--channels-last", action="store_true",
                      help="NHWC memory layout (torch.channels_last) for G, D and the batch, "
                      "jaxgan's layout; the default is PyTorch's usual NCHW")
  parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
  parser.add_argument("--setting", default="fp32",
                      help="fp32 or bf16, with +channels_last and/or +compile "
                      "(benchmarks/torch_timing.py)")
  parser.add_argument("--no-check", action="store_true",
                      help="skip the parameter-count check against jaxgan (no jax import)")
  args, rest = parser.parse_known_args(argv)
  overrides = {}
  for item in rest:
    if not item.startswith("--config.") or "=" not in item:
      parser.error(f"unrecognized argument {item!r} (overrides are --config.KEY=VALUE)")
    key, value = item[len("--config."):].split("=", 1)
    overrides[key] = value
  config = load_config(args.config, overrides)
  expected = None
  if not args.no_check:
    sys.path.insert(0, HERE)
    from throughput import jaxgan_param_counts  # pylint: disable=g-import-not-at-top
    expected = jaxgan_param_counts(config)
  result = run(config, args.steps, args.warmup, args.min_steps, args.min_time, args.max_time,
               expected, args.threads, args.channels_last, args.device, args.setting)
  result["config"] = os.path.splitext(os.path.basename(args.config))[0]
  result["config_overrides"] = overrides
  print(json.dumps(result), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
