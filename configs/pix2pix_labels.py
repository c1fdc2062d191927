"""pix2pix (Isola et al. 2016) on the embedded `labels` set: facade label maps -> facades.

The paper's labels -> facades task (CMP Facades) in miniature, scored as the paper scores it:
the FCN-score (`segmentation` evaluator: a segmenter trained on real renders, applied to the
generated facades, per-pixel / per-class accuracy and class IoU against the input map) beside
L1. The paper's objective (non-saturating cGAN + 100 L1; D's loss halved), Adam 2e-4 beta1
0.5, U-Net generator with skips down to a 1x1 bottleneck, dropout 0.5 in its first 3 decoder
layers, batch norm, conditional PatchGAN. The paper's ablation (Table 1):
  --config.gan_weight=0  L1 alone
  --config.l1_weight=0   cGAN alone

Departures, all for a 2-core CPU budget (a run takes about 6 CPU-minutes):
- 64x64 images (the paper's 256x256): the U-Net has 6 down-samplings instead of 8.
- 16 base features in G and D instead of 64 (G 1.83M parameters instead of 54.4M, D 44k).
- A 34x34 PatchGAN (2 stride-2 layers) instead of 70x70 (3). The paper's 70 is 27% of its
  image side; 34 is 53% of ours, chosen so that one patch sees a window with its frame and the
  wall around it (16x16, the proportional size, was not tried).
- Batch 8 instead of 1, 2500 steps (20 epochs of 1000 maps) instead of 200 epochs of 400.
- Random mirroring but no random resize-and-crop jitter: the textures have fixed periods in
  pixels, and training on maps enlarged by 286/256 would teach textures 12% larger than the
  test facades'.
- Samples from G in inference mode (batch-norm running averages, no dropout), as every embedded
  config here; `--config.generator.paper_inference=true` draws them as the paper does.
"""

from configs import pix2pix_photos


def get_config():
  c = pix2pix_photos.get_config()
  c.data.name = "labels"
  c.data.image_size = 64
  c.data.channels = 3
  c.batch_size = 8
  c.steps = 2500
  c.generator.base_features = 16
  c.discriminator.base_features = 16
  c.discriminator.receptive_field = 34
  c.augment.load_size = 0
  c.augment.flip = True
  c.checkpoint_every = 500
  c.sample_every = 500
  c.evals.translation = dict(every=500)
  c.evals.segmentation = dict(every=500)
  c.eval.batch_size = 50
  c.log_every = 100
  return c
