"""BigGAN-PyTorch's G and D (its default `G_param='SN'`, one singular vector, one power step).

State-dict keys as the reference writes them: `shared.weight`, `linear.{weight,bias,u0,sv0}`,
`blocks.I.0.{conv1,conv2,conv_sc}.*` and `blocks.I.0.{bn1,bn2}.{gain,bias}.*` /
`.stored_mean` / `.stored_var`, attention `blocks.I.1.{theta,phi,g,o}.*` and `.gamma`,
`output_layer.0.*` (plain BN) and `output_layer.2.*` (the output conv); D's `embed.*` keeps
its power-iteration vector on the class side.

Widths are given as jaxgan's channel multipliers (the 4x4 input's, then one per block), so
the same classes build the paper's 32/64/128/256 architectures and narrowed test variants.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _SpectralNorm:
  """W / sigma(W) with u (1, rows of W viewed as a matrix) in buffer u0; sv0 logs sigma."""

  def _setup_sn(self, rows: int, eps: float):
    self.sn_eps = eps
    self.register_buffer("u0", torch.randn(1, rows))
    self.register_buffer("sv0", torch.ones(1))

  def normalised_weight(self):
    w = self.weight.reshape(self.weight.size(0), -1)  # any memory format (channels_last)
    with torch.no_grad():
      v = F.normalize(self.u0 @ w, eps=self.sn_eps)
      u = F.normalize(v @ w.t(), eps=self.sn_eps)
      if self.training:
        self.u0.copy_(u)
    sigma = (v @ w.t() @ u.t()).squeeze()
    if self.training:
      with torch.no_grad():
        self.sv0.copy_(sigma.detach().reshape(1))
    return self.weight / sigma


class SNConv2d(nn.Conv2d, _SpectralNorm):

  def __init__(self, cin, cout, kernel_size=3, padding=1, bias=True, eps=1e-12):
    nn.Conv2d.__init__(self, cin, cout, kernel_size, padding=padding, bias=bias)
    self._setup_sn(cout, eps)

  def forward(self, x):
    return F.conv2d(x, self.normalised_weight(), self.bias, self.stride, self.padding)


class SNLinear(nn.Linear, _SpectralNorm):

  def __init__(self, fin, fout, bias=True, eps=1e-12):
    nn.Linear.__init__(self, fin, fout, bias=bias)
    self._setup_sn(fout, eps)

  def forward(self, x):
    return F.linear(x, self.normalised_weight(), self.bias)


class SNEmbedding(nn.Embedding, _SpectralNorm):

  def __init__(self, num, dim, eps=1e-12):
    nn.Embedding.__init__(self, num, dim)
    self._setup_sn(num, eps)

  def forward(self, labels):
    return F.embedding(labels, self.normalised_weight())


class Attention(nn.Module):
  """SAGAN's block: theta, phi, g, o 1x1 SN convs without bias, phi and g max-pooled 2x2."""

  def __init__(self, ch, eps):
    super().__init__()
    self.ch = ch
    conv = lambda cin, cout: SNConv2d(cin, cout, 1, padding=0, bias=False, eps=eps)
    self.theta, self.phi = conv(ch, ch // 8), conv(ch, ch // 8)
    self.g, self.o = conv(ch, ch // 2), conv(ch // 2, ch)
    self.gamma = nn.Parameter(torch.tensor(0.0))

  def forward(self, x):
    b, _, h, w = x.shape
    theta = self.theta(x).view(b, self.ch // 8, h * w)
    phi = F.max_pool2d(self.phi(x), 2).view(b, self.ch // 8, h * w // 4)
    g = F.max_pool2d(self.g(x), 2).view(b, self.ch // 2, h * w // 4)
    attention = F.softmax(theta.transpose(1, 2) @ phi, dim=-1)
    o = self.o((g @ attention.transpose(1, 2)).view(b, self.ch // 2, h, w))
    return x + self.gamma * o


class ConditionalBN(nn.Module):
  """BN without affine (stored_mean/stored_var, momentum 0.1), then * (1 + gain(y)) + bias(y):
  gain and bias bias-free SN linear maps of the conditioning vector, or embeddings of the class
  when G has no shared embedding."""

  def __init__(self, features, cond_size, per_class: bool, bn_eps, sn_eps):
    super().__init__()
    if per_class:
      self.gain, self.bias = nn.Embedding(cond_size, features), nn.Embedding(cond_size, features)
    else:
      self.gain = SNLinear(cond_size, features, bias=False, eps=sn_eps)
      self.bias = SNLinear(cond_size, features, bias=False, eps=sn_eps)
    self.eps = bn_eps
    self.register_buffer("stored_mean", torch.zeros(features))
    self.register_buffer("stored_var", torch.ones(features))

  def forward(self, x, y):
    gain = (1 + self.gain(y)).view(y.size(0), -1, 1, 1)
    bias = self.bias(y).view(y.size(0), -1, 1, 1)
    out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, 0.1,
                       self.eps)
    return out * gain + bias


class PlainBN(nn.Module):
  """The output layer's BN: learned gain and bias, stored statistics, momentum 0.1."""

  def __init__(self, features, eps=1e-5):
    super().__init__()
    self.gain = nn.Parameter(torch.ones(features))
    self.bias = nn.Parameter(torch.zeros(features))
    self.eps = eps
    self.register_buffer("stored_mean", torch.zeros(features))
    self.register_buffer("stored_var", torch.ones(features))

  def forward(self, x):
    return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias,
                        self.training, 0.1, self.eps)


class GBlock(nn.Module):

  def __init__(self, cin, cout, bn, eps):
    super().__init__()
    self.conv1 = SNConv2d(cin, cout, eps=eps)
    self.conv2 = SNConv2d(cout, cout, eps=eps)
    self.conv_sc = SNConv2d(cin, cout, 1, padding=0, eps=eps)  # G's blocks all upsample
    self.bn1, self.bn2 = bn(cin), bn(cout)

  def forward(self, x, y):
    h = F.relu(self.bn1(x, y))
    h = F.interpolate(h, scale_factor=2)
    x = F.interpolate(x, scale_factor=2)
    h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
    return h + self.conv_sc(x)


class Generator(nn.Module):
  """forward(z, y) with y = G.shared(labels) (the labels themselves without a shared
  embedding), as BigGAN-PyTorch's training and sampling code call it."""

  def __init__(self, ch=96, channel_multipliers=(16, 16, 8, 4, 2, 1), attention=(64,),
               dim_z=120, shared_dim=128, n_classes=1000, hier=True, out_channels=3,
               sn_eps=1e-12, bn_eps=1e-5):
    super().__init__()
    widths = [ch * m for m in channel_multipliers]
    num_blocks = len(widths) - 1
    self.hier = hier
    self.num_slots = num_blocks + 1 if hier else 1
    self.z_chunk = dim_z // self.num_slots if hier else 0
    per_class = shared_dim == 0
    if per_class:
      self.shared = nn.Identity()
      cond_size = n_classes
    else:
      self.shared = nn.Embedding(n_classes, shared_dim)
      cond_size = shared_dim + self.z_chunk
    bn = lambda features: ConditionalBN(features, cond_size, per_class, bn_eps, sn_eps)
    self.linear = SNLinear(dim_z // self.num_slots, widths[0] * 16, eps=sn_eps)
    blocks = []
    for i in range(num_blocks):
      block = [GBlock(widths[i], widths[i + 1], bn, sn_eps)]
      if 4 * 2 ** (i + 1) in attention:
        block.append(Attention(widths[i + 1], sn_eps))
      blocks.append(nn.ModuleList(block))
    self.blocks = nn.ModuleList(blocks)
    self.output_layer = nn.Sequential(PlainBN(widths[-1]), nn.ReLU(),
                                      SNConv2d(widths[-1], out_channels, eps=sn_eps))

  def forward(self, z, y):
    if self.hier:
      zs = torch.split(z, self.z_chunk, 1)
      z, ys = zs[0], [torch.cat([y, chunk], 1) for chunk in zs[1:]]
    else:
      ys = [y] * len(self.blocks)
    h = self.linear(z).view(z.size(0), -1, 4, 4)
    for blocklist, y_i in zip(self.blocks, ys):
      for i, block in enumerate(blocklist):
        h = block(h, y_i) if i == 0 else block(h)
    return torch.tanh(self.output_layer(h))


class DBlock(nn.Module):

  def __init__(self, cin, cout, preactivation, downsample, eps):
    super().__init__()
    self.conv1 = SNConv2d(cin, cout, eps=eps)  # "wide": hidden width = the output's
    self.conv2 = SNConv2d(cout, cout, eps=eps)
    self.preactivation, self.downsample = preactivation, downsample
    self.learnable_sc = cin != cout or downsample
    if self.learnable_sc:
      self.conv_sc = SNConv2d(cin, cout, 1, padding=0, eps=eps)

  def shortcut(self, x):
    if self.preactivation:
      x = self.conv_sc(x) if self.learnable_sc else x
      return F.avg_pool2d(x, 2) if self.downsample else x
    x = F.avg_pool2d(x, 2) if self.downsample else x
    return self.conv_sc(x) if self.learnable_sc else x

  def forward(self, x):
    h = F.relu(x) if self.preactivation else x
    h = self.conv2(F.relu(self.conv1(h)))
    if self.downsample:
      h = F.avg_pool2d(h, 2)
    return h + self.shortcut(x)


class Discriminator(nn.Module):
  """Attention after block I when its output side (image_size halved per downsampling) is in
  `attention`."""

  def __init__(self, ch=96, channel_multipliers=(1, 2, 4, 8, 16, 16), downsample=None,
               attention=(64,), n_classes=1000, image_size=128, in_channels=3, sn_eps=1e-12):
    super().__init__()
    widths = [ch * m for m in channel_multipliers]
    downsample = downsample or [True] * (len(widths) - 1) + [False]
    blocks, cin, size, attended = [], in_channels, image_size, set()
    for i, (width, down) in enumerate(zip(widths, downsample)):
      size = size // 2 if down else size
      block = [DBlock(cin, width, i > 0, down, sn_eps)]
      if size in attention and size not in attended:
        block.append(Attention(width, sn_eps))
        attended.add(size)
      blocks.append(nn.ModuleList(block))
      cin = width
    self.blocks = nn.ModuleList(blocks)
    self.linear = SNLinear(widths[-1], 1, eps=sn_eps)
    self.embed = SNEmbedding(n_classes, widths[-1], eps=sn_eps)

  def forward(self, x, y):
    h = x
    for blocklist in self.blocks:
      for block in blocklist:
        h = block(h)
    h = torch.sum(F.relu(h), [2, 3])
    return self.linear(h) + torch.sum(self.embed(y) * h, 1, keepdim=True)
