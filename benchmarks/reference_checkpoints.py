"""Random-weight checkpoints in the reference implementations' layouts, to try `jaxgan convert`
without the released files (which cannot be downloaded everywhere).

  .venv/bin/python benchmarks/reference_checkpoints.py OUT_DIR [--full]

writes OUT_DIR/biggan/{G,G_ema,D,state_dict}.pth (BigGAN-PyTorch's 128x128 ImageNet topology at
ch 8, or the release's ch 96 with --full), OUT_DIR/cyclegan/latest_net_{G_A,G_B,D_A,D_B}.pth
(resnet_9blocks, basic D, instance norm; ngf 8, or 64 with --full) and
OUT_DIR/pix2pix/latest_net_{G,D}.pth (unet_256 and basic D with batch norm, input and output
3 channels; ngf 8, or 64 with --full). Weights are random but off every default (biases, BN
statistics, attention gains, SN vectors), as tests/test_convert.py makes them. Needs torch.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jaxgan.interop.torch_reference import biggan, pix2pix  # noqa: E402  # pylint: disable=wrong-import-position
from tests.interop_helpers import randomise  # noqa: E402  # pylint: disable=wrong-import-position


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("out")
  parser.add_argument("--full", action="store_true", help="the released widths")
  args = parser.parse_args()
  ch, ngf = (96, 64) if args.full else (8, 8)
  torch.manual_seed(0)
  save = lambda module, *path: torch.save(module.state_dict(), os.path.join(args.out, *path))
  for folder in ("biggan", "cyclegan", "pix2pix"):
    os.makedirs(os.path.join(args.out, folder), exist_ok=True)
  g = randomise(biggan.Generator(ch=ch), 1)
  save(g, "biggan", "G.pth")
  save(randomise(biggan.Generator(ch=ch), 2), "biggan", "G_ema.pth")
  save(randomise(biggan.Discriminator(ch=ch), 3), "biggan", "D.pth")
  torch.save({"itr": 138000, "epoch": 0, "config": {"G_lr": 1e-4, "D_lr": 4e-4,
                                                     "num_D_steps": 1, "adam_eps": 1e-6,
                                                     "ema_start": 20000}},
             os.path.join(args.out, "biggan", "state_dict.pth"))
  save(randomise(pix2pix.ResnetGenerator(3, 3, ngf, "instance", False, 9), 4),
       "cyclegan", "latest_net_G_A.pth")
  save(randomise(pix2pix.ResnetGenerator(3, 3, ngf, "instance", False, 9), 5),
       "cyclegan", "latest_net_G_B.pth")
  for i, name in enumerate(("D_A", "D_B")):
    save(randomise(pix2pix.NLayerDiscriminator(3, ngf, 3, "instance"), 6 + i),
         "cyclegan", f"latest_net_{name}.pth")
  save(randomise(pix2pix.UnetGenerator(3, 3, 8, ngf, "batch", True), 8), "pix2pix",
       "latest_net_G.pth")
  save(randomise(pix2pix.NLayerDiscriminator(6, ngf, 3, "batch"), 9), "pix2pix",
       "latest_net_D.pth")
  print(f"wrote {args.out}/biggan, cyclegan, pix2pix")


if __name__ == "__main__":
  main()
