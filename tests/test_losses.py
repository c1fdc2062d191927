"""jaxgan.losses against values worked out by hand.

softplus(x) = log(1 + e^x). The values used below (to 6 places):
  softplus(0)  = log 2             = 0.693147
  softplus(-2) = log(1 + 0.135335) = 0.126928
  softplus(2)  = log(1 + 7.389056) = 2.126928
  softplus(-1) = log(1 + 0.367879) = 0.313262
  softplus(1)  = log(1 + 2.718282) = 1.313262
(softplus(x) - softplus(-x) = x, e.g. 2.126928 - 0.126928 = 2.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses

# One batch of logits used throughout: D's logits on two real and two fake examples.
REAL = jnp.array([0.0, 2.0])
FAKE = jnp.array([-2.0, 1.0])


def test_minimax_d_by_hand():
  # mean(softplus(-r)) = (softplus(0) + softplus(-2)) / 2 = (0.693147 + 0.126928) / 2 = 0.410038
  # mean(softplus(f))  = (softplus(-2) + softplus(1)) / 2 = (0.126928 + 1.313262) / 2 = 0.720095
  # minimax_d = 0.410038 + 0.720095 = 1.130133
  assert float(losses.minimax_d(REAL, FAKE)) == pytest.approx(1.130133, abs=1e-5)


def test_minimax_d_is_the_negated_value_function():
  # -[mean log D(x) + mean log(1 - D(G(z)))] with D = sigmoid(logit).
  d_real, d_fake = jax.nn.sigmoid(REAL), jax.nn.sigmoid(FAKE)
  value = jnp.mean(jnp.log(d_real)) + jnp.mean(jnp.log(1.0 - d_fake))
  assert float(losses.minimax_d(REAL, FAKE)) == pytest.approx(-float(value), abs=1e-5)


def test_minimax_g_by_hand():
  # minimax_g = mean log(1 - D(G(z))) = -mean(softplus(f)) = -(0.126928 + 1.313262) / 2
  #           = -0.720095
  assert float(losses.minimax_g(FAKE)) == pytest.approx(-0.720095, abs=1e-5)
  value = jnp.mean(jnp.log(1.0 - jax.nn.sigmoid(FAKE)))
  assert float(losses.minimax_g(FAKE)) == pytest.approx(float(value), abs=1e-5)


def test_non_saturating_g_by_hand():
  # non_saturating_g = -mean log D(G(z)) = mean(softplus(-f)) = (softplus(2) + softplus(-1)) / 2
  #                  = (2.126928 + 0.313262) / 2 = 1.220095
  assert float(losses.non_saturating_g(FAKE)) == pytest.approx(1.220095, abs=1e-5)
  # non_saturating_g + minimax_g = mean(softplus(-f) - softplus(f)) = mean(-f) = 0.5
  # (1.220095 - 0.720095 = 0.5)
  assert float(losses.non_saturating_g(FAKE) + losses.minimax_g(FAKE)) == pytest.approx(
      0.5, abs=1e-6)


def test_minimax_saturates_and_non_saturating_does_not():
  # Early in training D rejects the fakes: logits very negative. d/df of the per-example loss:
  #   minimax:        d/df [-softplus(f)] = -sigmoid(f)  -> -sigmoid(-10) = -4.54e-5 (vanishes)
  #   non-saturating: d/df [softplus(-f)] = -sigmoid(-f) -> -sigmoid(10)  = -0.999955
  # each divided by the batch size (2) for the mean.
  rejected = jnp.array([-10.0, -10.0])
  g_minimax = jax.grad(losses.minimax_g)(rejected)
  g_non_sat = jax.grad(losses.non_saturating_g)(rejected)
  np.testing.assert_allclose(g_minimax, [-4.5398e-5 / 2] * 2, rtol=1e-3)
  np.testing.assert_allclose(g_non_sat, [-0.999955 / 2] * 2, rtol=1e-5)
  assert np.all(np.abs(g_minimax) < 1e-4) and np.all(np.abs(g_non_sat) > 0.49)
  # Both push the fake logits up (negative gradient of a loss G minimises).
  assert np.all(g_minimax < 0) and np.all(g_non_sat < 0)
  # When D is fooled (f = +10) the roles swap: minimax has the strong gradient.
  fooled = jnp.array([10.0, 10.0])
  np.testing.assert_allclose(jax.grad(losses.minimax_g)(fooled), [-0.999955 / 2] * 2, rtol=1e-5)
  np.testing.assert_allclose(jax.grad(losses.non_saturating_g)(fooled), [-4.5398e-5 / 2] * 2,
                             rtol=1e-3)
  # At f = 0 (D undecided) they agree: -sigmoid(0) / 2 = -0.25.
  np.testing.assert_allclose(jax.grad(losses.minimax_g)(jnp.zeros(2)), [-0.25, -0.25])
  np.testing.assert_allclose(jax.grad(losses.non_saturating_g)(jnp.zeros(2)), [-0.25, -0.25])


def test_minimax_d_gradient_by_hand():
  # d/dr softplus(-r) = -sigmoid(-r); d/df softplus(f) = sigmoid(f); each / 2 for the means.
  # sigmoid(0) = 0.5, sigmoid(-2) = 0.119203, sigmoid(1) = 0.731059.
  g_real, g_fake = jax.grad(losses.minimax_d, argnums=(0, 1))(REAL, FAKE)
  np.testing.assert_allclose(g_real, [-0.5 / 2, -0.119203 / 2], atol=1e-6)
  np.testing.assert_allclose(g_fake, [0.119203 / 2, 0.731059 / 2], atol=1e-6)


def test_wasserstein_by_hand():
  # critic loss = mean(f) - mean(r) = (-2 + 1)/2 - (0 + 2)/2 = -0.5 - 1 = -1.5
  assert float(losses.wasserstein_d(REAL, FAKE)) == pytest.approx(-1.5)
  # G loss = -mean(f) = 0.5
  assert float(losses.wasserstein_g(FAKE)) == pytest.approx(0.5)
  # gradients are constant: -1/n on real, +1/n on fake, whatever the logits
  g_real, g_fake = jax.grad(losses.wasserstein_d, argnums=(0, 1))(REAL * 100, FAKE * 100)
  np.testing.assert_allclose(g_real, [-0.5, -0.5])
  np.testing.assert_allclose(g_fake, [0.5, 0.5])


def test_hinge_by_hand():
  # relu(1 - r) = relu([1, -1]) = [1, 0] -> mean 0.5
  # relu(1 + f) = relu([-1, 2]) = [0, 2] -> mean 1.0
  # hinge_d = 1.5
  assert float(losses.hinge_d(REAL, FAKE)) == pytest.approx(1.5)
  # hinge_g = -mean(f) = 0.5
  assert float(losses.hinge_g(FAKE)) == pytest.approx(0.5)
  # Only the margin violators get gradient: r=2 (> 1) and f=-2 (< -1) get none.
  g_real, g_fake = jax.grad(losses.hinge_d, argnums=(0, 1))(REAL, FAKE)
  np.testing.assert_allclose(g_real, [-0.5, 0.0])
  np.testing.assert_allclose(g_fake, [0.0, 0.5])


def test_least_squares_by_hand():
  # 0.5 * mean((r - 1)^2) = 0.5 * mean([1, 1]) = 0.5
  # 0.5 * mean(f^2)       = 0.5 * mean([4, 1]) = 1.25
  # least_squares_d = 1.75
  assert float(losses.least_squares_d(REAL, FAKE)) == pytest.approx(1.75)
  # G's term is not halved (CycleGAN's eq. 3 and code; halving it made adversarial:cycle 1:20):
  # least_squares_g = mean((f - 1)^2) = mean([9, 0]) = 4.5
  assert float(losses.least_squares_g(FAKE)) == pytest.approx(4.5)
  # d/df mean((f-1)^2) = 2 (f - 1) / n = [-6, 0] / 2
  np.testing.assert_allclose(jax.grad(losses.least_squares_g)(FAKE), [-3.0, 0.0])


def test_adversarial_losses_table_pairs_the_right_functions():
  table = losses.ADVERSARIAL_LOSSES
  assert set(table) == {"minimax", "non_saturating", "wasserstein", "hinge", "least_squares"}
  assert table["minimax"] == (losses.minimax_d, losses.minimax_g)
  assert table["non_saturating"] == (losses.minimax_d, losses.non_saturating_g)
  assert table["wasserstein"] == (losses.wasserstein_d, losses.wasserstein_g)
  assert table["hinge"].discriminator is losses.hinge_d
  assert float(table["hinge"].generator(FAKE)) == pytest.approx(0.5)
  assert table["least_squares"] == (losses.least_squares_d, losses.least_squares_g)


def test_losses_are_float32_scalars_for_bfloat16_logits():
  for name, pair in losses.ADVERSARIAL_LOSSES.items():
    d = pair.discriminator(REAL.astype(jnp.bfloat16), FAKE.astype(jnp.bfloat16))
    g = pair.generator(FAKE.astype(jnp.bfloat16))
    assert d.shape == () and g.shape == (), name
    assert d.dtype == jnp.float32 and g.dtype == jnp.float32, name
  # The mixed-precision value matches float32 for these exactly representable logits.
  assert float(losses.least_squares_d(REAL.astype(jnp.bfloat16),
                                      FAKE.astype(jnp.bfloat16))) == pytest.approx(1.75)


# ---------------------------------------------------------------------------------------------
# Penalties.

W = jnp.array([[[3.0], [0.0]], [[0.0], [4.0]]])  # a (2, 2, 1) "image" weight; |w| = 5


def _linear_critic(x):
  """D(x) = w . x per example, for x of shape (B, 2, 2, 1)."""
  return jnp.sum(x * W, axis=(1, 2, 3))


def _half_square_critic(x):
  """D(x) = |x|^2 / 2 per example; grad_x D = x."""
  return 0.5 * jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=-1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_penalty_of_a_linear_critic_is_exact(seed):
  # grad D = w everywhere, so every interpolate has |grad| = |w| = 5: GP = (5 - 1)^2 = 16,
  # whatever the data and the interpolation weights.
  k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
  real = jax.random.normal(k1, (8, 2, 2, 1))
  fake = jax.random.normal(k2, (8, 2, 2, 1))
  gp = losses.gradient_penalty(_linear_critic, real, fake, k3)
  assert float(gp) == pytest.approx(16.0, rel=1e-6)
  # A critic with unit-norm gradient has no penalty: w / |w|.
  gp_unit = losses.gradient_penalty(lambda x: _linear_critic(x) / 5.0, real, fake, k3)
  assert float(gp_unit) == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_of_half_square_critic_by_hand():
  # grad D(x) = x. With real == fake every interpolate is the example itself, so
  #   example 1: x = (3, 4), |x| = 5   -> (5 - 1)^2   = 16
  #   example 2: x = (0, 0.5), |x| = 0.5 -> (0.5 - 1)^2 = 0.25
  # GP = (16 + 0.25) / 2 = 8.125
  x = jnp.array([[3.0, 4.0], [0.0, 0.5]])
  gp = losses.gradient_penalty(_half_square_critic, x, x, jax.random.PRNGKey(0))
  assert float(gp) == pytest.approx(8.125, rel=1e-6)


def test_gradient_penalty_interpolates_per_example_uniformly():
  # real = (2, 0), fake = (0, 0): x_hat = eps * (2, 0), |grad D(x_hat)| = |x_hat| = 2 eps, so the
  # per-example penalty is (2 eps - 1)^2 = u^2 with u = 2 eps - 1 ~ U(-1, 1) when eps ~ U(0, 1):
  # E[u^2] = 1/3. Averaged over 4096 examples (std of the mean ~ 0.0047) this is 1/3 within 0.02
  # for every key; one eps shared by the whole batch would give (2 eps - 1)^2, anywhere in [0, 1].
  real = jnp.tile(jnp.array([[2.0, 0.0]]), (4096, 1))
  fake = jnp.zeros_like(real)
  for seed in range(3):
    gp = losses.gradient_penalty(_half_square_critic, real, fake, jax.random.PRNGKey(seed))
    assert float(gp) == pytest.approx(1.0 / 3.0, abs=0.02)


def test_gradient_penalty_is_differentiable_in_the_critic():
  # For D(x) = a * w.x the penalty is (5a - 1)^2: d/da = 2 * 5 * (5a - 1) = 40 at a = 1.
  k1, k2 = jax.random.split(jax.random.PRNGKey(3))
  real = jax.random.normal(k1, (4, 2, 2, 1))
  fake = jax.random.normal(k2, (4, 2, 2, 1))
  grad_a = jax.grad(lambda a: losses.gradient_penalty(lambda x: a * _linear_critic(x), real, fake,
                                                      k1))(1.0)
  assert float(grad_a) == pytest.approx(40.0, rel=1e-5)


def test_r1_penalty_of_a_linear_critic_is_the_squared_weight_norm():
  # grad D = w: |w|^2 = 3^2 + 4^2 = 25 on every real example.
  real = jax.random.normal(jax.random.PRNGKey(0), (5, 2, 2, 1))
  assert float(losses.r1_penalty(_linear_critic, real)) == pytest.approx(25.0, rel=1e-6)


def test_r1_penalty_of_half_square_critic_by_hand():
  # grad D(x) = x: |(3, 4)|^2 = 25, |(0, 0.5)|^2 = 0.25; mean = 12.625
  x = jnp.array([[3.0, 4.0], [0.0, 0.5]])
  assert float(losses.r1_penalty(_half_square_critic, x)) == pytest.approx(12.625, rel=1e-6)


def test_clip_weights_clips_every_leaf():
  params = {"dense": {"kernel": jnp.array([[-0.5, 0.005], [0.02, -0.01]]),
                      "bias": jnp.array([0.3, -0.3])},
            "layers": [jnp.array(-2.0), {"scale": jnp.array([0.0, 0.009, -0.011])}]}
  clipped = losses.clip_weights(params, 0.01)
  assert jax.tree_util.tree_structure(clipped) == jax.tree_util.tree_structure(params)
  f32 = lambda v: np.asarray(v, np.float32)  # exact: the clip bound is float32(0.01)
  np.testing.assert_array_equal(clipped["dense"]["kernel"], f32([[-0.01, 0.005], [0.01, -0.01]]))
  np.testing.assert_array_equal(clipped["dense"]["bias"], f32([0.01, -0.01]))
  np.testing.assert_array_equal(clipped["layers"][0], f32(-0.01))
  np.testing.assert_array_equal(clipped["layers"][1]["scale"], f32([0.0, 0.009, -0.01]))
  for leaf in jax.tree_util.tree_leaves(clipped):
    assert float(jnp.max(jnp.abs(leaf))) <= np.float32(0.01)


def test_drift_penalty_by_hand():
  # mean(r^2) = (0^2 + 2^2) / 2 = 2; d/dr = 2r / n = [0, 2]
  assert float(losses.drift_penalty(REAL)) == pytest.approx(2.0)
  np.testing.assert_allclose(jax.grad(losses.drift_penalty)(REAL), [0.0, 2.0])
