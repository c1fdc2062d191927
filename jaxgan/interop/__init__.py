"""Interoperation with the reference implementations' PyTorch checkpoints.

- `biggan_pytorch`: BigGAN-PyTorch's G.pth / G_ema.pth / D.pth / state_dict.pth.
- `cyclegan_pix2pix`: pytorch-CycleGAN-and-pix2pix's latest_net_G*.pth / latest_net_D*.pth.
- `state_dicts`: reading a .pth and taking its arrays key by key, with one-line errors.
- `convert`: a converted model written as a jaxgan workdir (`jaxgan convert`).
- `torch_reference`: the reference networks rebuilt in PyTorch (same state-dict layout), for
  the tests that prove equal forward passes and for PyTorch baselines; imports torch.

The core of jaxgan never imports this package; torch is needed only to read .pth files.
"""
