"""`jaxgan convert biggan-pytorch | cyclegan | pix2pix`: a reference implementation's PyTorch
checkpoint -> a jaxgan workdir (jaxgan/interop).

`add_parser(subparsers)` adds the command to jaxgan's argparse subparsers; `run(args)` handles
it. Heavy imports (torch, jax) happen inside the handler so `jaxgan --help` stays fast. Errors
are JaxganError: cli.main prints one line and exits 1, and nothing is written.
"""

from __future__ import annotations

import os
import sys

COMMAND = "convert"


def add_parser(subparsers) -> None:
  convert = subparsers.add_parser(
      COMMAND, help="a BigGAN-PyTorch or pytorch-CycleGAN-and-pix2pix checkpoint -> a jaxgan "
      "workdir (needs torch); prints the matched config")
  kinds = convert.add_subparsers(dest="source", required=True)
  biggan = kinds.add_parser(
      "biggan-pytorch", help="BigGAN-PyTorch's G.pth / G_ema.pth / D.pth / state_dict.pth")
  biggan.add_argument("--dir", default=None, help="its weights folder: takes G, G_ema, D and "
                      "state_dict .pth files found there (see --suffix)")
  biggan.add_argument("--suffix", default="", help="their name suffix, e.g. 'best0' for "
                      "G_best0.pth (default: none, the latest copies)")
  biggan.add_argument("--G", dest="g", default=None, metavar="G.pth")
  biggan.add_argument("--G-ema", dest="g_ema", default=None, metavar="G_ema.pth")
  biggan.add_argument("--D", dest="d", default=None, metavar="D.pth")
  biggan.add_argument("--state", default=None, metavar="state_dict.pth",
                      help="its step and hyper-parameters")
  _common(biggan)
  for model, files in (("cyclegan", "G_A, G_B, D_A, D_B"), ("pix2pix", "G, D")):
    p = kinds.add_parser(model, help=f"pytorch-CycleGAN-and-pix2pix's {model} "
                         f"(latest_net_{{{files}}}.pth)")
    p.add_argument("--dir", default=None, help="its checkpoints folder (checkpoints/NAME): "
                   f"takes the EPOCH_net_{{{files}}}.pth files found there")
    p.add_argument("--epoch", default="latest", help="which saved epoch (default latest)")
    if model == "cyclegan":
      p.add_argument("--G-A", dest="g", default=None, metavar="latest_net_G_A.pth",
                     help="A -> B (a released model's single .pth is this one)")
      p.add_argument("--G-B", dest="g_b", default=None, metavar="latest_net_G_B.pth")
      p.add_argument("--D-A", dest="d", default=None, metavar="latest_net_D_A.pth",
                     help="judges domain B")
      p.add_argument("--D-B", dest="d_b", default=None, metavar="latest_net_D_B.pth")
    else:
      p.add_argument("--G", dest="g", default=None, metavar="latest_net_G.pth")
      p.add_argument("--D", dest="d", default=None, metavar="latest_net_D.pth")
    p.add_argument("--image-size", type=int, default=None,
                   help="image side (default: 2^depth for a U-Net, 256 for a ResNet G)")
    _common(p)


def _common(parser) -> None:
  parser.add_argument("--workdir", required=True,
                      help="the new workdir (must not exist, or be empty)")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="a config override, as train's --config.KEY=VALUE (e.g. the real "
                      "data set: --set data.name=tfds:imagenet2012); repeatable")


def _found(folder: str | None, name: str) -> str | None:
  if folder is None:
    return None
  path = os.path.join(folder, name)
  return path if os.path.isfile(path) else None


def _overrides(pairs: list[str]) -> dict[str, str]:
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  out = {}
  for pair in pairs:
    key, sep, value = pair.partition("=")
    if not sep or not key:
      raise JaxganError(f"--set takes KEY=VALUE, got {pair!r}")
    out[key.removeprefix("config.")] = value
  return out


def run(args) -> None:
  from jaxgan.errors import JaxganError  # pylint: disable=g-import-not-at-top
  from jaxgan.interop import convert  # pylint: disable=g-import-not-at-top
  if args.dir is not None and not os.path.isdir(args.dir):
    raise JaxganError(f"--dir {args.dir}: no such folder")
  if args.source == "biggan-pytorch":
    name = lambda stem: f"{stem}_{args.suffix}.pth" if args.suffix else f"{stem}.pth"
    files = dict(g=args.g or _found(args.dir, name("G")),
                 g_ema=args.g_ema or _found(args.dir, name("G_ema")),
                 d=args.d or _found(args.dir, name("D")),
                 state=args.state or _found(args.dir, name("state_dict")))
    if not files["g"] and not files["g_ema"]:
      raise JaxganError("no generator: give --G and/or --G-ema (or --dir holding "
                        f"{name('G')} / {name('G_ema')})")
    converted = convert.biggan_pytorch(**files)
  else:
    stems = (("g", "G_A"), ("g_b", "G_B"), ("d", "D_A"), ("d_b", "D_B")) \
        if args.source == "cyclegan" else (("g", "G"), ("d", "D"))
    files = {k: getattr(args, k) or _found(args.dir, f"{args.epoch}_net_{stem}.pth")
             for k, stem in stems}
    converted = convert.cyclegan_pix2pix(args.source, image_size=args.image_size, **files)
  convert.apply_user_overrides(converted, _overrides(args.set))
  used = ", ".join(f"{k}={v}" for k, v in files.items() if v)
  print(f"jaxgan convert: read {used}", file=sys.stderr)
  print(f"jaxgan convert: matched config {convert.describe(converted)}", file=sys.stderr)
  for note in converted.notes:
    print(f"jaxgan convert: {note}", file=sys.stderr)
  convert.write_workdir(args.workdir, converted)
  print(f"jaxgan convert: wrote {args.workdir} (checkpoint {converted.step}); sample it with "
        f"`jaxgan sample --workdir {args.workdir} --num N --out FILE.npz`", file=sys.stderr)
