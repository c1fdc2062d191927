"""Shared layers of SAGAN/BigGAN (jaxgan/nn) and the orthogonal regulariser, on tiny shapes.

Spectral norm against jnp.linalg.svd; its power-iteration state in its own collection, updated
in training and frozen in evaluation, the stored weight never overwritten; self-attention is the
identity at init (gamma = 0); conditional BN; hierarchical latents; the projection head;
residual blocks; BigGAN's orthogonal regulariser.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses
from jaxgan.nn import spectral
from jaxgan.nn.attention import SelfAttention
from jaxgan.nn.conditioning import ProjectionHead, block_conditions, split_latents
from jaxgan.nn.normalization import ConditionalBatchNorm
from jaxgan.nn.resblocks import DBlock, GBlock, upsample2


def _top_singular_value(kernel):
  return float(jnp.linalg.svd(spectral.as_matrix(kernel), compute_uv=False)[0])


# ---------------------------------------------------------------------------------------------
# Spectral normalisation.


def test_power_iteration_converges_to_the_largest_singular_value():
  w = jax.random.normal(jax.random.PRNGKey(0), (3, 3, 6, 5))
  u0 = jax.random.normal(jax.random.PRNGKey(1), (5,))
  _, _, sigma = spectral.power_iteration(spectral.as_matrix(w), u0, n_steps=100)
  assert float(sigma) == pytest.approx(_top_singular_value(w), rel=1e-4)


@pytest.mark.parametrize("layer,shape", [
    (spectral.SNDense(7, kernel_init=nn.initializers.normal(1.0)), (4, 9)),
    (spectral.SNConv(5, (3, 3), kernel_init=nn.initializers.normal(1.0)), (2, 6, 6, 3)),
])
def test_spectral_norm_in_training_normalises_to_unit_spectral_norm(layer, shape):
  x = jax.random.normal(jax.random.PRNGKey(0), shape)
  variables = layer.init(jax.random.PRNGKey(1), x)
  assert set(variables) == {"params", "spectral"}  # u lives apart from params and batch_stats
  kernel = variables["params"]["kernel"]
  stored = np.array(kernel)
  for _ in range(60):  # each training call runs one power iteration and stores u
    _, updates = layer.apply(variables, x, update=True, mutable=["spectral"])
    variables = {**variables, **updates}
  # The stored parameter is never overwritten...
  np.testing.assert_array_equal(np.asarray(variables["params"]["kernel"]), stored)
  # ...and the weight the layer applies is W / sigma(W), with sigma from the SVD.
  normalised = spectral.SpectralWeight().apply(
      {"spectral": variables["spectral"]["sn"]}, kernel, update=False)
  np.testing.assert_allclose(np.asarray(normalised), stored / _top_singular_value(stored),
                             rtol=1e-3, atol=1e-6)
  assert _top_singular_value(normalised) == pytest.approx(1.0, rel=1e-3)
  # The layer's output is x @ (W / sigma) (+ zero bias at init).
  y = layer.apply(variables, x, update=False)
  if x.ndim == 2:
    np.testing.assert_allclose(np.asarray(y), np.asarray(x @ normalised), rtol=1e-4, atol=1e-5)


def test_spectral_norm_divides_by_sigma_itself():
  # BigGAN-PyTorch divides by sigma; its eps only floors the power iteration's norms. Dividing
  # by sigma + eps (the former 1e-6) would leave a small weight's sigma at 0.999, not 1.
  kernel = 1e-3 * jax.random.normal(jax.random.PRNGKey(0), (6, 4))
  kernel = kernel / _top_singular_value(kernel) * 1e-3  # sigma(W) = 1e-3
  layer = spectral.SpectralWeight()
  variables = layer.init(jax.random.PRNGKey(1), kernel, update=True)
  for _ in range(60):
    _, updates = layer.apply(variables, kernel, update=True, mutable=["spectral"])
    variables = {**variables, **updates}
  normalised = layer.apply(variables, kernel, update=False)
  assert _top_singular_value(normalised) == pytest.approx(1.0, rel=1e-5)


def test_sn_embed_keeps_u_on_the_class_side_as_biggan_pytorch():
  # SNEmbedding's u0 has one entry per class: one evaluation step is v = u W / |u W|,
  # u' = W v / |W v|, sigma = u'.W v (W the (classes, features) table), which jaxgan must
  # reproduce from the same u for converted weights to give the reference's outputs.
  table = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (5, 7)))
  u = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (5,)))
  embed = spectral.SNEmbed(5, 7)
  variables = {"params": {"embedding": table}, "spectral": {"sn": {"u": u}}}
  labels = jnp.arange(5)
  out = np.asarray(embed.apply(variables, labels, update=False))
  v = u @ table
  v /= np.linalg.norm(v)
  u_new = table @ v
  u_new /= np.linalg.norm(u_new)
  np.testing.assert_allclose(out, table / (u_new @ table @ v), rtol=1e-5)
  assert embed.init(jax.random.PRNGKey(0), labels)["spectral"]["sn"]["u"].shape == (5,)


def test_spectral_state_is_updated_in_training_and_frozen_in_eval():
  # (A normal, not orthogonal, init: an orthogonal W has equal singular values, so any u is
  # already a fixed point of the iteration.)
  layer = spectral.SNDense(4, kernel_init=nn.initializers.normal(1.0))
  x = jnp.ones((2, 6))
  variables = layer.init(jax.random.PRNGKey(0), x)
  u0 = np.array(variables["spectral"]["sn"]["u"])
  _, updates = layer.apply(variables, x, update=True, mutable=["spectral"])
  assert not np.allclose(np.asarray(updates["spectral"]["sn"]["u"]), u0)
  # Eval: same output whether or not the collection may change, and it does not change.
  y_eval, eval_updates = layer.apply(variables, x, update=False, mutable=["spectral"])
  np.testing.assert_array_equal(np.asarray(eval_updates["spectral"]["sn"]["u"]), u0)
  np.testing.assert_array_equal(np.asarray(layer.apply(variables, x, update=False)),
                                np.asarray(y_eval))
  # Training with the collection immutable (standing statistics) reads u without writing it.
  layer.apply(variables, x, update=True)
  # Gradients flow into the kernel, not into u.
  grads = jax.grad(lambda p: jnp.sum(layer.apply({**variables, "params": p}, x, update=False)))(
      variables["params"])
  assert float(jnp.max(jnp.abs(grads["kernel"]))) > 0


def test_spectral_norm_gradient_flows_through_sigma_as_finite_differences_say():
  # d/dW of sum(C * W / sigma(W)) has a term through sigma (-(C.W) / sigma^2 * v u^T); a
  # stop_gradient on sigma would drop it. u starts at the top right singular vector, so the
  # layer's sigma is the exact one the finite differences (float64, SVD) use.
  w = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (4, 3)), np.float64)
  c = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (4, 3)), np.float64)
  u = np.linalg.svd(w)[2][0]
  layer = spectral.SpectralWeight(eps=0.0)

  def loss(kernel):
    return jnp.sum(jnp.asarray(c, jnp.float32) * layer.apply(
        {"spectral": {"u": jnp.asarray(u, jnp.float32)}}, kernel, update=False))

  grad = np.asarray(jax.grad(loss)(jnp.asarray(w, jnp.float32)))
  exact = lambda m: np.sum(c * m / np.linalg.svd(m, compute_uv=False)[0])
  h = 1e-6
  fd = np.zeros_like(w)
  for i in np.ndindex(w.shape):
    step = np.zeros_like(w)
    step[i] = h
    fd[i] = (exact(w + step) - exact(w - step)) / (2 * h)
  np.testing.assert_allclose(grad, fd, rtol=1e-3, atol=1e-4)
  assert np.max(np.abs(fd - c / np.linalg.svd(w, compute_uv=False)[0])) > 1e-2  # sigma matters


def test_spectral_norm_can_be_switched_off():
  layer = spectral.SNConv(3, use_sn=False)
  variables = layer.init(jax.random.PRNGKey(0), jnp.ones((1, 4, 4, 2)))
  assert set(variables) == {"params"}


def test_sn_embed_normalises_the_table():
  embed = spectral.SNEmbed(10, 6, embedding_init=nn.initializers.normal(1.0))
  labels = jnp.arange(10)
  variables = embed.init(jax.random.PRNGKey(0), labels)
  for _ in range(60):
    _, updates = embed.apply(variables, labels, update=True, mutable=["spectral"])
    variables = {**variables, **updates}
  table = np.asarray(embed.apply(variables, labels, update=False))
  assert _top_singular_value(table) == pytest.approx(1.0, rel=1e-3)


def test_batch_norm_updates_the_running_variance_unbiased_as_pytorch():
  # PyTorch's BatchNorm (and BigGAN-PyTorch's, pix2pix's) moves the running variance towards
  # the unbiased batch variance; flax's towards the biased one (n / (n - 1) apart: 8/7 here).
  from jaxgan.nn.basic import norm_layer  # pylint: disable=g-import-not-at-top
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 2, 2, 3)) * 2.0 + 1.0
  expected_var = 0.9 + 0.1 * np.var(np.asarray(x).reshape(-1, 3), axis=0, ddof=1)
  expected_mean = 0.1 * np.mean(np.asarray(x).reshape(-1, 3), axis=0)
  plain, conditional = norm_layer("batch", True, jnp.float32), ConditionalBatchNorm()
  for layer, args in ((plain, (x,)), (conditional, (x, None, True))):
    variables = layer.init(jax.random.PRNGKey(1), *args)
    y, updates = layer.apply(variables, *args, mutable=["batch_stats"])
    stats = jax.tree_util.tree_leaves(updates["batch_stats"])  # mean, var
    np.testing.assert_allclose(np.asarray(stats[0]), expected_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(stats[1]), expected_var, rtol=1e-5)
    # ...while the batch itself is normalised with the biased variance, as in PyTorch.
    flat = np.asarray(y).reshape(-1, 3)
    np.testing.assert_allclose(np.var(flat, axis=0), 1.0, rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# Self-attention.


def test_self_attention_is_the_identity_at_init_and_learns_gamma():
  block = SelfAttention()
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 16))
  variables = block.init(jax.random.PRNGKey(1), x)
  assert float(variables["params"]["gamma"]) == 0.0
  np.testing.assert_allclose(np.asarray(block.apply(variables, x, update=False)), np.asarray(x))
  grads = jax.grad(lambda p: jnp.sum(block.apply({**variables, "params": p}, x, update=False)
                                     ** 2))(variables["params"])
  assert abs(float(grads["gamma"])) > 0  # gamma is trainable and gets gradient
  # With gamma != 0 every position sees the whole map: changing one pixel changes the others.
  params = {**variables["params"], "gamma": jnp.ones(())}
  v = {**variables, "params": params}
  y = block.apply(v, x, update=False)
  y2 = block.apply(v, x.at[:, 0, 0].add(5.0), update=False)
  assert float(jnp.max(jnp.abs(y2[:, 3, 3] - y[:, 3, 3]))) > 1e-4
  # Key/value maps are max-pooled 2x2 and the projections are bias-free and spectrally normed.
  assert variables["params"]["theta"]["kernel"].shape == (1, 1, 16, 2)
  assert variables["params"]["g"]["kernel"].shape == (1, 1, 16, 8)
  assert "bias" not in variables["params"]["o"]
  assert set(variables["spectral"]) == {"theta", "phi", "g", "o"}


def test_self_attention_keeps_examples_independent():
  block = SelfAttention()
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 4, 4, 8))
  variables = block.init(jax.random.PRNGKey(1), x)
  variables = {**variables, "params": {**variables["params"], "gamma": jnp.ones(())}}
  full = block.apply(variables, x, update=False)
  single = block.apply(variables, x[1:2], update=False)
  np.testing.assert_allclose(np.asarray(full[1:2]), np.asarray(single), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Conditioning.


def test_conditional_batch_norm_with_class_labels():
  norm = ConditionalBatchNorm(num_classes=3)
  x = jax.random.normal(jax.random.PRNGKey(0), (6, 2, 2, 4)) * 3 + 1
  labels = jnp.array([0, 1, 2, 0, 1, 2])
  variables = norm.init(jax.random.PRNGKey(1), x, labels, train=True)
  assert variables["params"]["gain"]["embedding"].shape == (3, 4)
  y, updates = norm.apply(variables, x, labels, train=True, mutable=["batch_stats"])
  # Gains start at 1 and biases at 0: the output is the batch-normalised input.
  np.testing.assert_allclose(np.asarray(jnp.mean(y, axis=(0, 1, 2))), 0, atol=1e-5)
  np.testing.assert_allclose(np.asarray(jnp.var(y, axis=(0, 1, 2))), 1, rtol=1e-3)
  # A class's gain and bias apply to its examples only.
  params = jax.tree_util.tree_map(lambda a: a, variables["params"])
  params["bias"]["embedding"] = params["bias"]["embedding"].at[2].set(10.0)
  y2 = norm.apply({**variables, "params": params}, x, labels, train=True,
                  mutable=["batch_stats"])[0]
  np.testing.assert_allclose(np.asarray(y2 - y)[labels == 2], 10.0, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(y2 - y)[labels != 2], 0.0, atol=1e-5)
  assert "mean" in updates["batch_stats"]["bn"]


def test_conditional_batch_norm_with_a_conditioning_vector():
  norm = ConditionalBatchNorm()
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 2, 2, 3))
  cond = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
  variables = norm.init(jax.random.PRNGKey(2), x, cond, train=True)
  # BigGAN: gain = 1 + W_g c and bias = W_b c, bias-free linear maps, spectrally normalised.
  assert set(variables["params"]) == {"gain", "bias"}
  assert set(variables["params"]["gain"]) == {"kernel"}
  assert "gain" in variables["spectral"]
  zero = norm.apply(variables, x, jnp.zeros_like(cond), train=True, mutable=True)[0]
  plain = nn.BatchNorm(use_running_average=False, use_scale=False, use_bias=False,
                       epsilon=1e-5).init_with_output(jax.random.PRNGKey(0), x)[0]
  np.testing.assert_allclose(np.asarray(zero), np.asarray(plain), rtol=1e-5, atol=1e-6)


def test_hierarchical_latents_and_shared_embedding():
  z = jnp.arange(24.0).reshape(2, 12)
  chunks = split_latents(z, 3)
  assert [c.shape for c in chunks] == [(2, 4)] * 3
  np.testing.assert_array_equal(np.asarray(jnp.concatenate(chunks, -1)), np.asarray(z))
  shared = jnp.ones((2, 5))
  conds = block_conditions(chunks[1:], shared)
  assert [c.shape for c in conds] == [(2, 9)] * 2
  np.testing.assert_array_equal(np.asarray(conds[1][:, 5:]), np.asarray(chunks[2]))
  with pytest.raises(ValueError):
    split_latents(z, 5)


def test_projection_head_adds_the_label_inner_product():
  head = ProjectionHead(num_classes=4)
  h = jax.random.normal(jax.random.PRNGKey(0), (3, 6))
  labels = jnp.array([0, 3, 3])
  variables = head.init(jax.random.PRNGKey(1), h, labels)
  out = head.apply(variables, h, labels, update=False)
  linear = head.apply(variables, h, None, update=False)  # psi(h) alone
  embed = spectral.SNEmbed(4, 6).apply(
      {"params": variables["params"]["embed"], "spectral": variables["spectral"]["embed"]},
      labels, update=False)
  np.testing.assert_allclose(np.asarray(out - linear), np.asarray(jnp.sum(embed * h, -1)),
                             rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Residual blocks.


def test_residual_blocks_shapes_and_shortcuts():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 8))
  cond = jnp.ones((2, 3))
  g = GBlock(4)
  variables = g.init(jax.random.PRNGKey(1), x, cond, train=True)
  y, _ = g.apply(variables, x, cond, train=True, mutable=["batch_stats", "spectral"])
  assert y.shape == (2, 8, 8, 4)
  assert variables["params"]["shortcut"]["kernel"].shape == (1, 1, 8, 4)
  np.testing.assert_array_equal(np.asarray(upsample2(x))[:, 1, 1], np.asarray(x)[:, 0, 0])

  first = DBlock(6, downsample=True, preactivation=False)
  variables = first.init(jax.random.PRNGKey(2), x)
  assert first.apply(variables, x, update=False).shape == (2, 2, 2, 6)
  same = DBlock(8, downsample=False)
  variables = same.init(jax.random.PRNGKey(3), x)
  assert "shortcut" not in variables["params"]  # identity shortcut when nothing changes
  # With the residual branch silenced (conv1 driven below zero so the ReLU passes nothing,
  # conv2's bias zero), the block is its shortcut. (Zeroing a kernel would not do: spectral norm
  # divides it by its sigma, 0, as BigGAN-PyTorch does.)
  params = jax.tree_util.tree_map(lambda a: a, variables["params"])
  params["conv1"]["bias"] = jnp.full_like(params["conv1"]["bias"], -1e6)
  params["conv2"]["bias"] = jnp.zeros_like(params["conv2"]["bias"])
  out = same.apply({**variables, "params": params}, x, update=False)
  np.testing.assert_allclose(np.asarray(out), np.asarray(x), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Orthogonal regularisation.


def test_orthogonal_regularization_matches_the_formula_and_skips_what_it_should():
  w = jax.random.normal(jax.random.PRNGKey(0), (3, 3, 4, 5))
  dense = jax.random.normal(jax.random.PRNGKey(1), (6, 3))
  params = {"conv": {"kernel": w, "bias": jnp.ones(5)}, "dense": {"kernel": dense},
            "shared": {"embedding": jnp.ones((10, 4))}}
  def off_diagonal(m):
    gram = np.asarray(m).T @ np.asarray(m)
    return np.sum((gram * (1 - np.eye(len(gram)))) ** 2)
  expected = 1e-4 * (off_diagonal(np.asarray(w).reshape(-1, 5)) + off_diagonal(dense))
  assert float(losses.orthogonal_regularization(params, 1e-4)) == pytest.approx(expected,
                                                                                 rel=1e-5)
  # Orthogonal filters with any norms are not penalised: only the off-diagonal counts.
  q = jnp.linalg.qr(jax.random.normal(jax.random.PRNGKey(2), (8, 4)))[0] * jnp.arange(1.0, 5.0)
  assert float(losses.orthogonal_regularization({"k": {"kernel": q}}, 1.0)) < 1e-8
  # Pure: a function of the params alone, differentiable.
  grads = jax.grad(losses.orthogonal_regularization)(params, 1e-4)
  assert float(jnp.max(jnp.abs(grads["shared"]["embedding"]))) == 0.0
  assert float(jnp.max(jnp.abs(grads["conv"]["bias"]))) == 0.0
  assert float(jnp.max(jnp.abs(grads["dense"]["kernel"]))) > 0.0


def _big_gram_form(m):
  """The regulariser as first written: the Gram matrix over the long side, M^T M (k x k)."""
  gram = m.T @ m
  return jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0]))))


@pytest.mark.parametrize("shape", [(7, 3), (3, 7), (5, 5), (1, 1, 2, 9), (3, 3, 2, 4)])
def test_orthogonal_regularization_from_the_small_gram_equals_the_big_gram_form(shape):
  # Tall (fan_in > filters), wide (G's input layer: 20 x 24576, whose big Gram matrix is
  # 2.25 GiB), square, and conv kernels viewed as (kh*kw*in, out): value and gradient as the
  # k x k form gives them.
  w = jax.random.normal(jax.random.PRNGKey(sum(shape)), shape) * 0.7
  params = {"layer": {"kernel": w}}
  m = w.reshape(-1, shape[-1])
  np.testing.assert_allclose(float(losses.orthogonal_regularization(params, 1.0)),
                             float(_big_gram_form(m)), rtol=1e-5)
  new = jax.grad(losses.orthogonal_regularization)(params, 1.0)["layer"]["kernel"]
  old = jax.grad(lambda w: _big_gram_form(w.reshape(-1, shape[-1])))(w)
  np.testing.assert_allclose(np.asarray(new), np.asarray(old), rtol=1e-4, atol=1e-5)
