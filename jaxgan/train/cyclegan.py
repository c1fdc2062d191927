"""CycleGAN (Zhu et al. 2017): two generators and two discriminators on unpaired domains.

G_AB: A -> B and G_BA: B -> A; D_A judges domain A, D_B domain B. G's objective (one optimiser
over both generators, as the reference code has it) is the least-squares adversarial loss of
both translations, plus the cycle loss lambda (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|) with
lambda = 10, plus the identity loss lambda_id * lambda (|G_AB(b) - b| + |G_BA(a) - a|) with
lambda_id = 0.5. Each discriminator is trained (one optimiser over both) on its domain's real
images against fakes drawn from a history pool of `pool_size` (50) past fakes, one pool per
domain, kept in the train state. Learning rates are constant for the first half of training and
decay linearly to zero over the second (optimizer.*.lr_decay='linear', decay_start=0.5).

Each step, as phases: (jitter;) G forward (both translations, cycles and identities) and G
update on D as it stands; the fakes of that forward pass go through the pools (kept in the
state's `extra`); D update. This is the reference code's order, with one G forward per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import losses
from jaxgan.data.sources import UnpairedSource
from jaxgan.errors import JaxganError
from jaxgan.train import pieces
from jaxgan.train.image_pool import init_pool, query_pool
from jaxgan.train.networks import apply_net, init_net
from jaxgan.train.phases import Phase, micro_batches, update_phase
from jaxgan.train.state import TrainState, make_optimizer

SAMPLE_ROWS = 8


class CycleGANTrainer(pieces.TwoImageTrainer):
  """g_params {'ab': G_AB's, 'ba': G_BA's}, d_params {'a': D_A's, 'b': D_B's}; the state's
  extra holds pool_a (past fakes of domain A, G_BA's outputs, for D_A) and pool_b."""

  pairing = "unpaired"
  num_keys = 4  # the generators', the discriminators', the jitter's, the pools'

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
    g_ab, s_ab = init_net(self.generators["ab"], ab_key, a)
    g_ba, s_ba = init_net(self.generators["ba"], ba_key, b)
    d_a, t_a = init_net(self.discriminator, da_key, a)
    d_b, t_b = init_net(self.discriminator, db_key, b)
    g_params, d_params = {"ab": g_ab, "ba": g_ba}, {"a": d_a, "b": d_b}
    return TrainState(
        step=jnp.zeros((), jnp.int32), g_params=g_params, d_params=d_params,
        g_state={"ab": s_ab, "ba": s_ba}, d_state={"a": t_a, "b": t_b},
        g_opt_state=self.g_tx.init(g_params), d_opt_state=self.d_tx.init(d_params),
        ema_params=None, rng=key,
        extra={"pool_a": init_pool(self.pool_size, self.info.shape),
               "pool_b": init_pool(self.pool_size, self.info.target_shape)})

  def phases(self, constrain):
    config = self.config
    adversarial = losses.ADVERSARIAL_LOSSES[config.loss]
    num_micro = config.grad_accum_steps
    disc = self.discriminator

    def g_loss_fn(g_params, g_state, inputs, state):
      (a, b), key = inputs
      keys = iter(jax.random.split(key, 8))
      g_state = dict(g_state)

      def gen(direction, x):
        out, g_state[direction] = apply_net(
            self.generators[direction], g_params[direction], g_state[direction], x,
            train=True, key=next(keys))
        return out

      def judge(domain, x):
        return apply_net(disc, state.d_params[domain], state.d_state[domain], x, train=True,
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
      return total, (g_state, metrics, {"fake_a": fake_a, "fake_b": fake_b})

    def pools(state, inputs, key):
      """The new fakes through the history pools: what D is trained on."""
      a_key, b_key = jax.random.split(key)
      pool_a, fake_a = query_pool(state.extra["pool_a"], inputs["fake_a"], a_key)
      pool_b, fake_b = query_pool(state.extra["pool_b"], inputs["fake_b"], b_key)
      state = state.replace(extra={**state.extra, "pool_a": pool_a, "pool_b": pool_b})
      return state, {}, {"fake_a": constrain(fake_a), "fake_b": constrain(fake_b)}

    def d_loss_fn(d_params, d_state, inputs, state):
      del state
      (a, b, fake_a, fake_b), key = inputs
      keys = iter(jax.random.split(key, 4))
      d_state = dict(d_state)

      def judge(domain, x):
        logits, d_state[domain] = apply_net(disc, d_params[domain], d_state[domain], x,
                                            train=True, key=next(keys))
        return logits

      loss_a = adversarial.discriminator(judge("a", a), judge("a", fake_a))
      loss_b = adversarial.discriminator(judge("b", b), judge("b", fake_b))
      return loss_a + loss_b, (d_state, {"d_loss_a": loss_a, "d_loss_b": loss_b,
                                         "d_loss": loss_a + loss_b})

    result = [pieces.jitter_phase(config, ("a", "b"), paired=False, key_slot=2),
              update_phase("generator", "g", g_loss_fn, self.g_tx, num_micro,
                           lambda x, k: micro_batches((x["a"], x["b"]), k, num_micro),
                           key_slot=0),
              Phase("pools", pools, key_slot=3),
              update_phase("discriminator", "d", d_loss_fn, self.d_tx, num_micro,
                           lambda x, k: micro_batches(
                               (x["a"], x["b"], x["fake_a"], x["fake_b"]), k, num_micro),
                           key_slot=1)]
    return [p for p in result if p is not None]

  # ---------------------------------------------------------------- inference

  def _translate_fn(self, state, direction, x):
    out, _ = apply_net(self.generators[direction], state.g_params[direction],
                       state.g_state[direction], x, train=False)
    return out

  def translate(self, state, direction: str, images: np.ndarray,
                batch_size: int | None = None) -> np.ndarray:
    """G_AB ('ab') or G_BA ('ba') on float images in [-1, 1], in batches, as float numpy."""
    return pieces.batched(lambda x, _: self._translate(state, direction, x),
                          (np.asarray(images, np.float32),),
                          batch_size or self.config.eval.batch_size)

  def domain_examples(self, domain: str, num: int | None = None, seed: int | None = None,
                      require_test: bool = True, clip: bool = False) -> dict:
    """{'image'[, 'label']} of one domain's test split (all of it when num is None; with clip,
    at most all of it)."""
    source = self.require_test_source() if require_test else self.test_source()
    if source is None:
      from jaxgan import data  # pylint: disable=g-import-not-at-top
      source = data.load(self.config.data, "train")[0]
    from jaxgan.data.pipeline import fetch_batch  # pylint: disable=g-import-not-at-top
    if not isinstance(source, UnpairedSource):  # another unpaired source: its 'a' / 'b'
      batch = fetch_batch(source, np.arange(num or len(source)) % len(source))
      out = {"image": batch[domain]}
      if "label_" + domain in batch:
        out["label"] = batch["label_" + domain]
      return out
    domain_source = source.source_a if domain == "a" else source.source_b
    n = len(domain_source)
    num = min(num or n, n) if clip else (num or n)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    return fetch_batch(domain_source, order[np.arange(num) % n])

  def output_names(self) -> set[str]:
    names = {"inputs_a", "samples_ab", "cycles_a", "inputs_b", "samples_ba", "cycles_b"}
    return names | ({"labels_a", "labels_b"} if self.info.num_classes else set())

  def generate_outputs(self, state, num: int, seed: int | None,
                       truncation: float | None = None) -> dict:
    """Test images of each domain, their translations and cycles: inputs_a, samples_ab,
    cycles_a (G_BA(G_AB(a))), inputs_b, samples_ba, cycles_b, and labels_a / labels_b where
    the data has them. seed None: the first `num` of each test split (evaluation)."""
    del truncation
    a = self.domain_examples("a", num, seed, clip=seed is None)
    b = self.domain_examples("b", num, None if seed is None else seed + 1, clip=seed is None)
    ab = self.translate(state, "ab", a["image"])
    ba = self.translate(state, "ba", b["image"])
    out = {"inputs_a": a["image"], "samples_ab": ab, "cycles_a": self.translate(state, "ba", ab),
           "inputs_b": b["image"], "samples_ba": ba, "cycles_b": self.translate(state, "ab", ba)}
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
