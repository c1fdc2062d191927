"""pytorch-CycleGAN-and-pix2pix's generators and PatchGAN (models/networks.py's layout).

`ResnetGenerator` (resnet_9blocks / resnet_6blocks), `UnetGenerator` (unet_256: 8 downs,
unet_128: 7) and `NLayerDiscriminator` (basic: n_layers 3; n_layers) with the reference's
`model.N...` module numbering, so its saved state dicts load. Norms: 'batch' (BatchNorm2d with
affine and running statistics) or 'instance' (InstanceNorm2d without affine or statistics);
convolutions before a batch norm have no bias.
"""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(kind: str, features: int) -> nn.Module:
  if kind == "batch":
    return nn.BatchNorm2d(features, affine=True, track_running_stats=True)
  if kind == "instance":
    return nn.InstanceNorm2d(features, affine=False, track_running_stats=False)
  raise ValueError(f"norm must be 'batch' or 'instance', got {kind!r}")


class ResnetBlock(nn.Module):

  def __init__(self, dim, norm, use_dropout, use_bias):
    super().__init__()
    layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(norm, dim),
              nn.ReLU(True)]
    if use_dropout:
      layers.append(nn.Dropout(0.5))
    layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(norm, dim)]
    self.conv_block = nn.Sequential(*layers)

  def forward(self, x):
    return x + self.conv_block(x)


class ResnetGenerator(nn.Module):

  def __init__(self, input_nc=3, output_nc=3, ngf=64, norm="instance", use_dropout=False,
               n_blocks=9):
    super().__init__()
    use_bias = norm == "instance"
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias),
              norm_layer(norm, ngf), nn.ReLU(True)]
    features = ngf
    for _ in range(2):
      layers += [nn.Conv2d(features, features * 2, 3, stride=2, padding=1, bias=use_bias),
                 norm_layer(norm, features * 2), nn.ReLU(True)]
      features *= 2
    layers += [ResnetBlock(features, norm, use_dropout, use_bias) for _ in range(n_blocks)]
    for _ in range(2):
      layers += [nn.ConvTranspose2d(features, features // 2, 3, stride=2, padding=1,
                                    output_padding=1, bias=use_bias),
                 norm_layer(norm, features // 2), nn.ReLU(True)]
      features //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
    self.model = nn.Sequential(*layers)

  def forward(self, x):
    return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
  """down -> submodule -> up, concatenated with its input (except the outermost block)."""

  def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
               innermost=False, norm="batch", use_dropout=False):
    super().__init__()
    self.outermost = outermost
    use_bias = norm == "instance"
    input_nc = outer_nc if input_nc is None else input_nc
    down_conv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
    if outermost:
      up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
      layers = [down_conv, submodule, nn.ReLU(True), up_conv, nn.Tanh()]
    elif innermost:
      up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias)
      layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv,
                norm_layer(norm, outer_nc)]
    else:
      up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1,
                                   bias=use_bias)
      layers = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(norm, inner_nc), submodule,
                nn.ReLU(True), up_conv, norm_layer(norm, outer_nc)]
      if use_dropout:
        layers.append(nn.Dropout(0.5))
    self.model = nn.Sequential(*layers)

  def forward(self, x):
    if self.outermost:
      return self.model(x)
    return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):

  def __init__(self, input_nc=3, output_nc=3, num_downs=8, ngf=64, norm="batch",
               use_dropout=False):
    super().__init__()
    block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
    for _ in range(num_downs - 5):
      block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm,
                                      use_dropout=use_dropout)
    for mult in (4, 2, 1):
      block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block, norm=norm)
    self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                         outermost=True, norm=norm)

  def forward(self, x):
    return self.model(x)


class NLayerDiscriminator(nn.Module):

  def __init__(self, input_nc=6, ndf=64, n_layers=3, norm="batch"):
    super().__init__()
    use_bias = norm == "instance"
    layers = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
      prev, mult = mult, min(2**n, 8)
      stride = 2 if n < n_layers else 1
      layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=use_bias),
                 norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
    self.model = nn.Sequential(*layers)

  def forward(self, x):
    return self.model(x)
