"""StackGAN (Zhang et al. 2017): text-to-image in two stages, trained one after the other.

One config per data set with `stage` 1 or 2 and a two-command recipe (the loop trains one
network pair per workdir, and each stage has its own):

    jaxgan train --config configs/stackgan_digits.py --workdir W/stage1 --config.stage=1
    jaxgan train --config configs/stackgan_digits.py --workdir W --config.stage=2

Stage-II reads the latest checkpoint of the Stage-I run in `<its workdir>/stage1`, or in
`stage1_workdir` when that is set, once, when it starts from scratch (`complete_init`): the
Stage-I generator's parameters and batch-norm averages go into the state's `extra['stage1']`,
frozen (no optimiser touches them), so Stage-II checkpoints carry them and resume, sample and
evaluate anywhere without the Stage-I workdir.

Each step, as the reference code (hanzhanggit/StackGAN-Pytorch, code/trainer.py and
miscc/utils.py) orders it: G makes this step's fakes (z ~ N(0, I), CA noise), D takes one Adam
step on the matching-aware loss, then G one step against the updated D on the same fakes (its
phase recomputes them from the same key: identical outputs).

- D (conditions: G's CA mu, detached, as the reference): BCE of real + right text -> 1, fake +
  right text -> 0, real + wrong text -> 0, weights 1, 1/2, 1/2. The wrong text of example i is
  example i+1's (the batch's conditions rolled by one; the reference pairs real i with cond
  i+1 over the first B-1 examples). data.wrong_caption (captioned_digits only) changes the wrong
  text, a departure from the reference: 'class_swap' gives example i its own caption with
  another digit word (the batch's 'wrong_embedding', through G's CA to mu like the right text),
  so D must tell right from wrong text by the class alone, which it otherwise never needs
  (the reference's wrong captions mostly name another background: docs/text_to_image.md);
  'mixed' gives the even examples of each (micro-)batch the class-swapped text and the odd ones
  the rolled one. Stage-II adds its unconditioned head: (real + uncond real)
  / 2 + (fake + wrong + uncond fake) / 3, the reference's weights.
- G: BCE of D(fake, right text) -> 1 (+ the unconditioned head's, Stage-II) + kl_weight (2.0) x
  KL(N(mu, sigma^2) || N(0, I)) of its CA (no KL with generator.ca=False).
- Stage-II: Stage-I's image from the frozen Stage-I G (its own CA, the step's z; batch norm on
  the batch's statistics as the reference's netG.train(), its running averages left as loaded),
  detached; Stage-II G adds no z.
- Stage-I reads the data at the Stage-I size, or at a multiple of it (the Stage-II size, so one
  config serves both stages), area-downscaled on the device: for captioned_digits exactly what
  the loader gives at that size.

Real batches carry 'image' and 'embedding' (TextDataInfo data sets: captioned_digits,
stackgan_cub, stackgan_coco).
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.errors import JaxganError
from jaxgan.models import stackgan as models
from jaxgan.train import pieces
from jaxgan.train.contract import TrainerBase, as_file_arrays
from jaxgan.train.networks import apply_net, draw_latents, init_net, latent_distribution
from jaxgan.train.phases import Phase, merge_micro, micro_batches, update_phase
from jaxgan.train.state import TrainState, make_optimizer

EVAL_PROMPT_SEED = 2017  # the fixed test captions of evaluation (seed None)
EVAL_KEY = 20141
GRID_KEY = 19
STAGE1_SUBDIR = "stage1"


def bce_real(logits):
  """BCE(sigmoid(logits), 1), mean."""
  return jnp.mean(jax.nn.softplus(-logits))


def bce_fake(logits):
  """BCE(sigmoid(logits), 0), mean."""
  return jnp.mean(jax.nn.softplus(logits))


def wrong_conditions(conditions, swapped=None, mode: str = "other"):
  """The mismatched text of each example (data.wrong_caption): 'other', the next example's
  (rolled by one); 'class_swap', `swapped` (its own caption with another digit word); 'mixed',
  `swapped` on the even rows and the rolled text on the odd ones."""
  rolled = jnp.roll(conditions, 1, axis=0)
  if mode == "other":
    return rolled
  if mode == "class_swap":
    return swapped
  even = (jnp.arange(conditions.shape[0]) % 2 == 0)[:, None]
  return jnp.where(even, swapped, rolled)


def matching_aware_d_loss(real, wrong, fake, real_uncond=None, fake_uncond=None):
  """(D's loss, its parts) from logits of real + right text, real + wrong text, fake + right
  text, and the unconditioned head's on real and fake where D has one (Stage-II)."""
  err_real, err_wrong, err_fake = bce_real(real), bce_fake(wrong), bce_fake(fake)
  parts = {"d_real": err_real, "d_wrong": err_wrong, "d_fake": err_fake}
  if real_uncond is None:
    return err_real + 0.5 * (err_fake + err_wrong), parts
  u_real, u_fake = bce_real(real_uncond), bce_fake(fake_uncond)
  parts.update(d_uncond_real=u_real, d_uncond_fake=u_fake)
  return (err_real + u_real) / 2.0 + (err_fake + err_wrong + u_fake) / 3.0, parts


def area_downscale(images, factor: int):
  if factor == 1:
    return images
  b, h, w, c = images.shape
  return images.reshape(b, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def _upscale_nearest(images: np.ndarray, size: int) -> np.ndarray:
  factor = size // images.shape[1]
  return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


class StackGANTrainer(TrainerBase):
  """g_params: the trained stage's G; extra['stage1'] = {'params', 'state'} of the frozen
  Stage-I G in Stage-II ({} in Stage-I)."""

  pairing = ""
  num_keys = 2  # G's forward (the fakes phase and G's update share it), D's

  def __init__(self, config, info):
    self.config, self.info = config, info
    if not hasattr(info, "embedding_dim"):
      raise JaxganError(f"the 'stackgan' trainer needs a captioned data set (captioned_digits, "
                        f"stackgan_cub, stackgan_coco), not {info.name!r}")
    if config.n_critic != 1:
      raise JaxganError(f"the 'stackgan' trainer makes one D update per step; n_critic must be "
                        f"1, got {config.n_critic}")
    if config.loss != "non_saturating":
      raise JaxganError(f"StackGAN's loss is the BCE of its reference code (loss="
                        f"'non_saturating'), got {config.loss!r}")
    self.stage = int(config.stage)
    if self.stage not in (1, 2):
      raise JaxganError(f"stage must be 1 or 2, got {config.stage}")
    self.low, self.high = models.stage_sizes(config, info)
    if self.low < 8 or self.high % self.low or self.high < self.low:
      raise JaxganError(f"stage1_size {self.low} must be >= 8 and divide the data's image size "
                        f"{self.high}")
    if self.stage == 2 and self.high == self.low:
      raise JaxganError(f"Stage-II needs data.image_size above stage1_size ({self.low})")
    self.size = self.low if self.stage == 1 else self.high
    self.kl_weight = float(config.kl_weight)
    if self.kl_weight < 0:
      raise JaxganError(f"kl_weight must be >= 0, got {self.kl_weight}")
    self.ca = bool(config.generator.ca)
    self.wrong_caption = config.data.get("wrong_caption", "other")
    if self.wrong_caption != "other" and info.name != "captioned_digits":
      raise JaxganError(f"data.wrong_caption {self.wrong_caption!r} needs captioned_digits' "
                        f"captions, not {info.name!r}")
    from jaxgan import models as models_lib  # pylint: disable=g-import-not-at-top
    try:
      self.generators, self.discriminator = models_lib.build(config, info)
    except ValueError as e:
      raise JaxganError(f"cannot build stackgan for {info.shape}: {e}") from e
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps)
    self._generate = jax.jit(self._generate_fn)
    self._test = None

  # ---------------------------------------------------------------- state and step

  def _stage1_init(self, key):
    z = jnp.zeros((2, self.config.latent_dim), jnp.float32)
    emb = jnp.zeros((2, self.info.embedding_dim), jnp.float32)
    return init_net(self.generators["stage1"], key, z, emb)

  def init_state(self, key):
    key, g_key, d_key = jax.random.split(key, 3)
    emb = jnp.zeros((2, self.info.embedding_dim), jnp.float32)
    cond = jnp.zeros((2, self.config.condition_dim), jnp.float32)
    extra = {}
    if self.stage == 1:
      g_params, g_state = self._stage1_init(g_key)
    else:
      # Placeholders of the right shapes: complete_init loads the trained Stage-I G.
      s1_params, s1_state = jax.tree_util.tree_map(jnp.zeros_like, self._stage1_init(g_key))
      extra = {"stage1": {"params": s1_params, "state": s1_state}}
      low = jnp.zeros((2, self.low, self.low, 3), jnp.float32)
      g_params, g_state = init_net(self.generators["stage2"], g_key, low, emb)
    images = jnp.zeros((2, self.size, self.size, 3), jnp.float32)
    d_params, d_state = init_net(self.discriminator, d_key, images, cond, cond)
    return TrainState(step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
                      g_state=g_state, d_state=d_state, g_opt_state=self.g_tx.init(g_params),
                      d_opt_state=self.d_tx.init(d_params), ema_params=None, rng=key,
                      extra=extra)

  def stage1_workdir(self, workdir: str | None) -> str:
    if self.config.stage1_workdir:
      return self.config.stage1_workdir
    if workdir is None:
      raise JaxganError("Stage-II needs a Stage-I run: set stage1_workdir (or train with a "
                        "--workdir whose stage1/ holds it)")
    return os.path.join(workdir, STAGE1_SUBDIR)

  def complete_init(self, state, workdir: str | None):
    """Stage-II: the fresh state with the trained Stage-I G of the Stage-I workdir."""
    if self.stage == 1:
      return state
    from jaxgan.cli import _load_workdir  # pylint: disable=g-import-not-at-top
    path = self.stage1_workdir(workdir)
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
      raise JaxganError(f"no Stage-I checkpoint in {path} (no config.json there); train Stage-I "
                        f"first: --config.stage=1 --workdir {path}")
    try:
      with open(config_path, encoding="utf-8") as f:
        saved = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      raise JaxganError(f"{config_path} is not a readable config: {e}") from e
    if saved.get("trainer") != "stackgan" or saved.get("stage") != 1:
      raise JaxganError(f"{path} holds no StackGAN Stage-I run (trainer "
                        f"{saved.get('trainer')!r}, stage {saved.get('stage')!r})")
    mine = self.config
    for key, value in (("generator.gf_dim", mine.generator.gf_dim),
                       ("generator.ca", mine.generator.ca), ("condition_dim", mine.condition_dim),
                       ("stage1_size", mine.stage1_size), ("latent_dim", mine.latent_dim),
                       # The frozen Stage-I G must read the same embeddings Stage-II is fed.
                       ("data.name", mine.data.name),
                       ("data.text_encoder", mine.data.get("text_encoder"))):
      head, *rest = key.split(".")
      theirs = saved.get(head)
      for part in rest:
        theirs = (theirs or {}).get(part)
      if theirs != value:
        raise JaxganError(f"the Stage-I run in {path} has {key}={theirs!r}, this Stage-II "
                          f"config {value!r}")
    try:
      _, _, stage1_state, step = _load_workdir(path)
    except JaxganError as e:
      raise JaxganError(f"no usable Stage-I checkpoint in {path}: {e}") from e
    loaded = {"params": stage1_state.g_params, "state": stage1_state.g_state}
    wanted = jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), state.extra["stage1"])
    got = jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), loaded)
    if wanted != got:
      raise JaxganError(f"the Stage-I generator in {path} does not fit this config's")
    import logging  # pylint: disable=g-import-not-at-top
    logging.getLogger("jaxgan").info("Stage-I generator from step %d of %s", step, path)
    stage1 = jax.tree_util.tree_map(lambda x: jnp.asarray(np.asarray(x)), loaded)
    return state.replace(extra={**state.extra, "stage1": stage1})

  def _forward(self, g_params, g_state, extra, embedding, key, train: bool):
    """(image, stage-I image, mu, logvar, G's collections) of one generator call."""
    z_key, net_key, s1_key = jax.random.split(key, 3)
    z = draw_latents(z_key, (embedding.shape[0], self.config.latent_dim),
                     latent_distribution(self.config))
    if self.stage == 1:
      (image, mu, logvar), g_state = apply_net(self.generators["stage1"], g_params, g_state, z,
                                               embedding, train=train, key=net_key)
      return image, image, mu, logvar, g_state
    stage1 = extra["stage1"]
    (low, _, _), _ = apply_net(self.generators["stage1"], stage1["params"], stage1["state"], z,
                               embedding, train=train, key=s1_key)
    low = jax.lax.stop_gradient(low)
    (image, mu, logvar), g_state = apply_net(self.generators["stage2"], g_params, g_state, low,
                                             embedding, train=train, key=net_key)
    return image, low, mu, logvar, g_state

  def _real(self, images):
    if self.stage == 2:
      return images
    return area_downscale(images, images.shape[1] // self.low)

  def phases(self, constrain):
    del constrain  # every array here follows the sharded batch
    num_micro = self.config.grad_accum_steps
    disc = self.discriminator

    def g_inputs(batch, key):
      return micro_batches(batch["embedding"], key, num_micro)

    def fakes(state, inputs, key):
      """This step's fakes and conditions, as G's update will make them again."""
      micro, keys = g_inputs(inputs, key)
      def one(embedding, k):
        image, _, mu, _, _ = self._forward(state.g_params, state.g_state, state.extra,
                                           embedding, k, train=True)
        return image, mu
      if num_micro == 1:
        image, mu = one(micro, keys)
      else:
        outs = [one(micro[i], keys[i]) for i in range(num_micro)]
        image, mu = merge_micro(jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *outs),
                                num_micro)
      out = {"fake": jax.lax.stop_gradient(image), "condition": jax.lax.stop_gradient(mu)}
      if self.wrong_caption != "other":
        out["swapped_condition"] = jax.lax.stop_gradient(models.ca_mean(
            state.g_params, inputs["wrong_embedding"], self.config.condition_dim, mu.dtype))
      return state, {}, out

    def d_loss_fn(d_params, d_state, inputs, state):
      del state
      (real, fake, condition, *swapped), key = inputs
      real_key, fake_key = jax.random.split(key)
      wrong = wrong_conditions(condition, *swapped, mode=self.wrong_caption)
      real_out, d_state = apply_net(disc, d_params, d_state, real, condition, wrong,
                                    train=True, key=real_key)
      fake_out, d_state = apply_net(disc, d_params, d_state, fake, condition, None, train=True,
                                    key=fake_key)
      loss, parts = matching_aware_d_loss(real_out["cond"], real_out["wrong"], fake_out["cond"],
                                          real_out.get("uncond"), fake_out.get("uncond"))
      return loss, (d_state, {"d_loss": loss, **parts})

    def g_loss_fn(g_params, g_state, inputs, state):
      embedding, key = inputs
      image, _, mu, logvar, g_state = self._forward(g_params, g_state, state.extra, embedding,
                                                    key, train=True)
      d_key = jax.random.fold_in(key, 1)
      out, _ = apply_net(disc, state.d_params, state.d_state, image,
                         jax.lax.stop_gradient(mu), None, train=True, key=d_key)
      adversarial = bce_real(out["cond"])
      if "uncond" in out:
        adversarial = adversarial + bce_real(out["uncond"])
      kl = models.kl_divergence(mu, logvar)
      total = adversarial + (self.kl_weight * kl if self.ca else 0.0)
      return total, (g_state, {"g_loss": adversarial, "kl": kl})

    return [
        Phase("fakes", fakes, key_slot=0),
        update_phase("discriminator", "d", d_loss_fn, self.d_tx, num_micro,
                     lambda b, k: micro_batches((self._real(b["image"]), b["fake"],
                                                 b["condition"],
                                                 *([b["swapped_condition"]]
                                                   if "swapped_condition" in b else [])),
                                                k, num_micro),
                     key_slot=1),
        update_phase("generator", "g", g_loss_fn, self.g_tx, num_micro, g_inputs, key_slot=0),
    ]

  # ---------------------------------------------------------------- inference

  def _generate_fn(self, state, embedding, key):
    image, low, _, _, _ = self._forward(state.g_params, state.g_state, state.extra, embedding,
                                        key, train=False)
    return image, low

  def generate(self, state, embeddings: np.ndarray, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(samples, Stage-I samples) for text embeddings (N, D), float numpy in [-1, 1]."""
    key = jax.random.PRNGKey(seed)
    return pieces.batched(
        lambda e, i: self._generate(state, e, jax.random.fold_in(key, i)),
        (np.asarray(embeddings, np.float32),), self.config.eval.batch_size)

  def _digits(self) -> bool:
    return self.info.name == "captioned_digits"

  def prompts(self, num: int, seed: int | None) -> dict:
    """num test captions: {'embeddings', 'images' (the render or photo each was written for, at
    the data's size)[, 'captions', 'attributes', 'mentions', 'labels']}."""
    if self._digits():
      from jaxgan.data import captioned_digits as cd  # pylint: disable=g-import-not-at-top
      from jaxgan.text.encoder import test_prompts  # pylint: disable=g-import-not-at-top
      p = test_prompts(num, self.config.data.text_encoder,
                       EVAL_PROMPT_SEED if seed is None else seed)
      renders = cd.captioned_digits("test")["images"][p["image_index"]]
      return {"embeddings": p["embeddings"], "captions": p["captions"],
              "images": cd.to_model_images(renders, self.high),
              "attributes": p["attributes"], "mentions": p["mentions"],
              "labels": np.asarray(p["attributes"]["class"], np.int32)}
    from jaxgan import data  # pylint: disable=g-import-not-at-top
    from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
    if self._test is None:
      self._test = data.load(self.config.data, "test")[0]
    n = len(self._test)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    batch = fetch_batch(self._test, order[np.arange(num) % n])
    return {"embeddings": batch["embedding"], "images": batch["image"]}

  def output_names(self) -> set[str]:
    names = {"samples", "samples_stage1"}
    if self._digits():
      from jaxgan.data.captioned_digits import ATTRIBUTES  # pylint: disable=g-import-not-at-top
      names |= {"labels"} | {f"attr_{a}" for a in ATTRIBUTES} | {f"mention_{a}"
                                                                  for a in ATTRIBUTES}
    return names

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict:
    """{'samples' (this stage's images), 'samples_stage1'} for `num` test captions (a fixed draw
    for seed None); on captioned_digits also 'labels' (the digit asked for) and, per attribute,
    'attr_<name>' (the value of the image the caption was written for) and 'mention_<name>'
    (whether the caption names it)."""
    del truncation
    p = self.prompts(num, seed)
    samples, low = self.generate(state, p["embeddings"], EVAL_KEY if seed is None else seed)
    out = {"samples": samples, "samples_stage1": low}
    if "attributes" in p:
      out["labels"] = p["labels"]
      for attr, values in p["attributes"].items():
        out[f"attr_{attr}"] = np.asarray(values, np.int32)
        out[f"mention_{attr}"] = np.asarray(p["mentions"][attr], np.int32)
    return out

  def sample_outputs(self, state, num: int, seed: int, truncation: float | None = None):
    """generate_outputs as files (images uint8), plus the captions where the data has text."""
    p_captions = self.prompts(num, seed).get("captions") if self._digits() else None
    out = as_file_arrays(self.generate_outputs(state, num, seed, truncation))
    if p_captions is not None:
      out["captions"] = np.asarray(p_captions)
    return out

  def sample_captions(self, state, captions: list[str], seed: int = 0) -> dict:
    """`jaxgan sample --captions`: free text embedded by the bundled encoder -> {'samples',
    'samples_stage1' (uint8), 'captions'}."""
    if not self._digits():
      raise JaxganError(f"--captions needs the bundled text encoder of captioned_digits; "
                        f"{self.info.name!r} was trained on the published char-CNN-RNN "
                        "embeddings, whose encoder is not included")
    from jaxgan.text.encoder import embed_captions  # pylint: disable=g-import-not-at-top
    embeddings = embed_captions(list(captions), self.config.data.text_encoder)
    samples, low = self.generate(state, embeddings, seed)
    out = as_file_arrays({"samples": samples, "samples_stage1": low})
    out["captions"] = np.asarray(list(captions))
    return out

  def sample_grid(self, state) -> np.ndarray:
    """Rows of: the test image a caption was written for | Stage-I's image for that caption
    (nearest-upscaled) | Stage-II's (Stage-II runs), for fixed captions and noise."""
    p = self.prompts(self.config.sample_grid, 0)
    samples, low = self.generate(state, p["embeddings"], GRID_KEY)
    real = np.asarray(p["images"], np.float32)
    if self.stage == 1:
      real = np.asarray(area_downscale(real, real.shape[1] // self.low))
      return pieces.rows_picture([real, samples], groups=2)
    return pieces.rows_picture([real, _upscale_nearest(low, self.high), samples], groups=2)
