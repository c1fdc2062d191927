"""One module per paper, each with a `build(config, data_info) -> (generator, discriminator)`."""

from jaxgan.models import biggan, cgan, dcgan, gan, sagan

# WGAN and WGAN-GP change the loss and the optimiser, not the networks: they use these models.
ARCHITECTURES = {
    "mlp": gan.build,
    "conditional_mlp": cgan.build,
    "dcgan": dcgan.build,
    "sagan": sagan.build,
    "biggan": biggan.build,
}

# Image-to-image and coupled papers; their builds return what their trainers expect (CycleGAN:
# a generator per direction and one discriminator module for both domains).
from jaxgan.models import cogan, cyclegan, pix2pix  # pylint: disable=wrong-import-position

ARCHITECTURES.update(pix2pix=pix2pix.build, cyclegan=cyclegan.build, cogan=cogan.build,
                     cogan_paper=cogan.build_paper)

# Progressive and style-based papers (their G and D also take resolution/alpha; see each module).
from jaxgan.models import progan, stylegan, stylegan2  # pylint: disable=wrong-import-position

ARCHITECTURES.update(progan=progan.build, stylegan=stylegan.build, stylegan2=stylegan2.build)

# Text to image: StackGAN's build returns {'stage1': G[, 'stage2': G]} and the stage's D.
from jaxgan.models import stackgan  # pylint: disable=wrong-import-position

ARCHITECTURES.update(stackgan=stackgan.build)


def build(config, info):
  return ARCHITECTURES[config.architecture](config, info)
