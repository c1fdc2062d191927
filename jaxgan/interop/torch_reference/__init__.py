"""The reference networks rebuilt in PyTorch with the reference code's state-dict layout.

Written for jaxgan from the reference repositories' descriptions (BigGAN-PyTorch's BigGAN.py
and layers.py; pytorch-CycleGAN-and-pix2pix's models/networks.py): the same modules, the same
parameter and buffer names, the same arithmetic, so a state dict saved by the reference code
loads into them and the converted jaxgan networks can be checked against them. Importing this
package needs torch.
"""

from jaxgan.interop.torch_reference import biggan, pix2pix  # noqa: F401  # pylint: disable=unused-import
