"""CycleGAN (Zhu et al. 2017): two generators and two discriminators on unpaired domains.

G_AB: A -> B and G_BA: B -> A; D_A judges domain A, D_B domain B. G's objective (one optimiser
over both generators, as the reference code has it) is the least-squares adversarial loss of
both translations, plus the cycle loss lambda (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|) with
lambda = 10, plus the identity loss lambda_id * lambda (|G_AB(b) - b| + |G_BA(a) - a|) with
lambda_id = 0.5. Each discriminator is trained (one optimiser over both) on its domain's real
images against fakes drawn from a history pool of `pool_size` (50) past fakes, one pool per
domain, kept in the train state. Learning rates are constant for the first half of training and
decay linearly to zero over the second (optimizer.*.lr_decay='linear', decay_start=0.5).

Each step: G forward (both translations, cycles and identities) and G update on D as it stands;
the fakes of that forward pass go through the pools; D update. This is the reference code's
order, with one G forward per step.
"""

from __future__ import annotations

import functools

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import losses, visualize
from jaxgan.errors import JaxganError
from jaxgan.train import pieces
from jaxgan.train.adversarial import accumulate_grads
from jaxgan.train.image_pool import ImagePool, init_pool, query_pool
from jaxgan.train.state import make_optimizer

SAMPLE_ROWS = 8


@flax.struct.dataclass
class CycleGANState:
  step: jax.Array
  g_params: dict  # {'ab': G_AB's, 'ba': G_BA's}
  d_params: dict  # {'a': D_A's, 'b': D_B's}
  g_state: dict
  d_state: dict
  g_opt_state: object
  d_opt_state: object
  pool_a: ImagePool  # past fakes of domain A (G_BA's outputs), for D_A
  pool_b: ImagePool  # past fakes of domain B, for D_B
  rng: jax.Array


class CycleGANTrainer(pieces.TwoImageTrainer):
  pairing = "unpaired"

  def __init__(self, config, info):
    super().__init__(config, info)
    self.generators, self.discriminator = self.build()
    self.g_tx = make_optimizer(config.optimizer.g, config.steps)
    self.d_tx = make_optimizer(config.optimizer.d, config.steps)
    self.cycle_weight = float(config.cycle_weight)
    self.identity_weight = float(config.identity_weight)
    self.pool_size = int(config.pool_size)
    if self.cycle_weight < 0 or self.identity_weight < 0 or self.pool_size < 0:
      raise JaxganError(f"cycle_weight, identity_weight and pool_size must be >= 0, got "
                        f"{self.cycle_weight}, {self.identity_weight}, {self.pool_size}")
    if self.identity_weight > 0 and info.shape[-1] != info.target_shape[-1]:
      raise JaxganError(f"the identity loss needs both domains to have the same channels, got "
                        f"{info.shape[-1]} and {info.target_shape[-1]}; set identity_weight=0")
    self._translate = jax.jit(self._translate_fn, static_argnums=1)

  # ---------------------------------------------------------------- state and step

  def init_state(self, key):
    key, ab_key, ba_key, da_key, db_key = jax.random.split(key, 5)
    a = jnp.zeros((2,) + tuple(self.info.shape), jnp.float32)
    b = jnp.zeros((2,) + tuple(self.info.target_shape), jnp.float32)
    g_ab, s_ab = pieces.init_net(self.generators["ab"], ab_key, a)
    g_ba, s_ba = pieces.init_net(self.generators["ba"], ba_key, b)
    d_a, t_a = pieces.init_net(self.discriminator, da_key, a)
    d_b, t_b = pieces.init_net(self.discriminator, db_key, b)
    g_params, d_params = {"ab": g_ab, "ba": g_ba}, {"a": d_a, "b": d_b}
    return CycleGANState(
        step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
        g_state={"ab": s_ab, "ba": s_ba}, d_state={"a": t_a, "b": t_b},
        g_opt_state=self.g_tx.init(g_params), d_opt_state=self.d_tx.init(d_params),
        pool_a=init_pool(self.pool_size, self.info.shape),
        pool_b=init_pool(self.pool_size, self.info.target_shape), rng=key)

  def make_step(self, constrain):
    config = self.config
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    load_size, flip = pieces.augment_config(config)
    disc = self.discriminator

    def g_loss_fn(g_params, g_state, inputs, d_params, d_state):
      (a, b), key = inputs
      keys = iter(jax.random.split(key, 8))
      g_state = dict(g_state)

      def gen(direction, x):
        out, g_state[direction] = pieces.apply_net(
            self.generators[direction], g_params[direction], g_state[direction], x,
            train=True, key=next(keys))
        return out

      def judge(domain, x):
        return pieces.apply_net(disc, d_params[domain], d_state[domain], x, train=True,
                                key=next(keys))[0]

      fake_b = gen("ab", a)
      fake_a = gen("ba", b)
      adv_ab = adversarial.generator(judge("b", fake_b))
      adv_ba = adversarial.generator(judge("a", fake_a))
      cycle_a = pieces.mean_abs(gen("ba", fake_b), a)
      cycle_b = pieces.mean_abs(gen("ab", fake_a), b)
      total = adv_ab + adv_ba + self.cycle_weight * (cycle_a + cycle_b)
      metrics = {"g_loss_ab": adv_ab, "g_loss_ba": adv_ba, "cycle_a": cycle_a,
                 "cycle_b": cycle_b}
      if self.identity_weight > 0:
        identity_b = pieces.mean_abs(gen("ab", b), b)
        identity_a = pieces.mean_abs(gen("ba", a), a)
        total = total + self.identity_weight * self.cycle_weight * (identity_a + identity_b)
        metrics.update(identity_a=identity_a, identity_b=identity_b)
      metrics["g_loss"] = adv_ab + adv_ba
      return total, (g_state, metrics, (fake_a, fake_b))

    def d_loss_fn(d_params, d_state, inputs):
      (a, b, fake_a, fake_b), key = inputs
      keys = iter(jax.random.split(key, 4))
      d_state = dict(d_state)

      def judge(domain, x):
        logits, d_state[domain] = pieces.apply_net(disc, d_params[domain], d_state[domain], x,
                                                   train=True, key=next(keys))
        return logits

      loss_a = adversarial.discriminator(judge("a", a), judge("a", fake_a))
      loss_b = adversarial.discriminator(judge("b", b), judge("b", fake_b))
      return loss_a + loss_b, (d_state, {"d_loss_a": loss_a, "d_loss_b": loss_b,
                                         "d_loss": loss_a + loss_b})

    def step(state: CycleGANState, batch):
      a, b = batch["a"][0], batch["b"][0]
      rng, g_key, d_key, aug_key, pool_key = jax.random.split(state.rng, 5)
      if load_size or flip:
        a_key, b_key = jax.random.split(aug_key)
        (a,) = pieces.random_jitter(a_key, [a], load_size, flip)
        (b,) = pieces.random_jitter(b_key, [b], load_size, flip)
      loss_fn = functools.partial(g_loss_fn, d_params=state.d_params, d_state=state.d_state)
      grads, g_state, metrics, (fake_a, fake_b) = pieces.grads_with_outputs(
          loss_fn, state.g_params, state.g_state, pieces.micro_batches((a, b), g_key, num_micro),
          num_micro)
      g_params, g_opt_state = pieces.update(self.g_tx, grads, state.g_opt_state, state.g_params)

      a_pool_key, b_pool_key = jax.random.split(pool_key)
      pool_a, fake_a = query_pool(state.pool_a, fake_a, a_pool_key)
      pool_b, fake_b = query_pool(state.pool_b, fake_b, b_pool_key)
      fake_a, fake_b = constrain(fake_a), constrain(fake_b)
      grads, (d_state, d_metrics) = accumulate_grads(
          d_loss_fn, state.d_params, state.d_state,
          pieces.micro_batches((a, b, fake_a, fake_b), d_key, num_micro), num_micro)
      d_params, d_opt_state = pieces.update(self.d_tx, grads, state.d_opt_state, state.d_params)
      new_state = state.replace(step=state.step + 1, g_params=g_params, d_params=d_params,
                                g_state=g_state, d_state=d_state, g_opt_state=g_opt_state,
                                d_opt_state=d_opt_state, pool_a=pool_a, pool_b=pool_b, rng=rng)
      return new_state, {**metrics, **d_metrics}

    return step

  # ---------------------------------------------------------------- inference

  def _translate_fn(self, state, direction, x):
    out, _ = pieces.apply_net(self.generators[direction], state.g_params[direction],
                              state.g_state[direction], x, train=False)
    return out

  def translate(self, state, direction: str, images: np.ndarray,
                batch_size: int | None = None) -> np.ndarray:
    """G_AB ('ab') or G_BA ('ba') on float images in [-1, 1], in batches, as float numpy."""
    return pieces.batched(lambda x, _: self._translate(state, direction, x),
                          (np.asarray(images, np.float32),),
                          batch_size or self.config.eval.batch_size)

  def domain_examples(self, domain: str, num: int | None = None, seed: int | None = None,
                      require_test: bool = True) -> dict:
    """{'image'[, 'label']} of one domain's test split (all of it when num is None)."""
    source = self.require_test_source() if require_test else self.test_source()
    if source is None:
      from jaxgan import data  # pylint: disable=g-import-not-at-top
      source = data.load(self.config.data, "train")[0]
    from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
    domain_source = getattr(source, "source_" + domain, None)
    if domain_source is None:  # an unpaired source of another kind: its examples' 'a' / 'b'
      batch = fetch_batch(source, np.arange(num or len(source)) % len(source))
      out = {"image": batch[domain]}
      if "label_" + domain in batch:
        out["label"] = batch["label_" + domain]
      return out
    n = len(domain_source)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    return fetch_batch(domain_source, order[np.arange(num or n) % n])

  def sample_outputs(self, state, num: int, seed: int) -> dict:
    a = self.domain_examples("a", num, seed)
    b = self.domain_examples("b", num, seed + 1)
    out = {"inputs_a": visualize.to_uint8(a["image"]),
           "samples_ab": visualize.to_uint8(self.translate(state, "ab", a["image"])),
           "inputs_b": visualize.to_uint8(b["image"]),
           "samples_ba": visualize.to_uint8(self.translate(state, "ba", b["image"]))}
    if "label" in a:
      out["labels_a"] = np.asarray(a["label"], np.int32)
    if "label" in b:
      out["labels_b"] = np.asarray(b["label"], np.int32)
    return out

  def sample_grid(self, state) -> np.ndarray:
    """Rows of a | G_AB(a) | G_BA(G_AB(a)) || b | G_BA(b) | G_AB(G_BA(b)) for test images."""
    a = self.domain_examples("a", SAMPLE_ROWS, require_test=False)["image"]
    b = self.domain_examples("b", SAMPLE_ROWS, require_test=False)["image"]
    ab = self.translate(state, "ab", a)
    ba = self.translate(state, "ba", b)
    return pieces.rows_picture([a, ab, self.translate(state, "ba", ab),
                                b, ba, self.translate(state, "ab", ba)])

  def can_evaluate(self) -> bool:
    return self.test_source() is not None

  def evaluate(self, state, num_samples: int | None = None) -> dict:
    """On the test split: cycle L1 per domain (0-1 scale); where domain B is A's negative, L1
    of each translation to the true counterpart; on digits, the share of translations the
    digits classifier gives the source image's class (a translated negative is negated back
    into a digit for it)."""
    num = num_samples or self.config.eval.num_samples
    a = self.domain_examples("a")
    b = self.domain_examples("b")
    a_img, b_img = a["image"][:num], b["image"][:num]
    ab = self.translate(state, "ab", a_img)
    ba = self.translate(state, "ba", b_img)
    scores = {"cycle_l1_a": float(np.mean(pieces.l1_01(self.translate(state, "ba", ab), a_img))),
              "cycle_l1_b": float(np.mean(pieces.l1_01(self.translate(state, "ab", ba), b_img))),
              "num_test_a": float(len(a_img)), "num_test_b": float(len(b_img))}
    if self.info.relation == "negative":
      scores["l1_to_true_ab"] = float(np.mean(pieces.l1_01(ab, -a_img)))
      scores["l1_to_true_ba"] = float(np.mean(pieces.l1_01(ba, -b_img)))
    if self.info.name == "digits_negative":
      from jaxgan.metrics.digits_classifier import load_digits_classifier  # pylint: disable=g-import-not-at-top
      classifier = load_digits_classifier()
      predict = lambda x: np.argmax(classifier.logits(x), axis=-1)
      scores["class_kept_ab"] = float(np.mean(predict(-ab) == a["label"][:num]))
      scores["class_kept_ba"] = float(np.mean(predict(ba) == b["label"][:num]))
      scores["classifier_on_real_a"] = float(np.mean(predict(a_img) == a["label"][:num]))
    return scores
