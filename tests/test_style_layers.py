"""The ProGAN/StyleGAN/StyleGAN2 layers (jaxgan.nn.equalized, fir, style) against plain layers,
hand-computed values and an independent formulation of the official code's upsampling conv."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.nn import fir, style
from jaxgan.nn.equalized import EqualizedConv, EqualizedDense

KEY = jax.random.PRNGKey(0)


def _normal(seed, shape):
  return jax.random.normal(jax.random.PRNGKey(seed), shape)


# ---------------------------------------------------------------------------------------------
# Equalised learning rate.


def test_equalized_dense_is_a_plain_dense_with_scaled_weights():
  layer = EqualizedDense(5, gain=math.sqrt(2), lr_mul=0.01)
  x = _normal(1, (3, 7))
  params = layer.init(KEY, x)["params"]
  # Stored N(0, 1) / lr_mul: std ~ 100 over 35 draws.
  assert 50 < float(jnp.std(params["kernel"])) < 200
  params = dict(params, bias=_normal(2, (5,)))  # a non-zero bias, so its lr_mul is tested too
  scaled = {"kernel": params["kernel"] * math.sqrt(2) / math.sqrt(7) * 0.01,
            "bias": params["bias"] * 0.01}
  expected = nn.Dense(5).apply({"params": scaled}, x)
  np.testing.assert_allclose(layer.apply({"params": params}, x), expected, rtol=1e-5, atol=1e-6)


def test_equalized_conv_is_a_plain_conv_with_scaled_weights():
  layer = EqualizedConv(4, (3, 3), gain=math.sqrt(2), lr_mul=0.5)
  x = _normal(1, (2, 6, 6, 3))
  params = dict(layer.init(KEY, x)["params"], bias=_normal(2, (4,)))
  scaled = {"kernel": params["kernel"] * math.sqrt(2) / math.sqrt(27) * 0.5,
            "bias": params["bias"] * 0.5}
  expected = nn.Conv(4, (3, 3), padding="SAME").apply({"params": scaled}, x)
  np.testing.assert_allclose(layer.apply({"params": params}, x), expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Pixel norm, instance norm, minibatch stddev.


def test_pixel_norm_by_hand():
  x = jnp.array([[[[3.0, 4.0]], [[0.0, 2.0]]]])  # [1, 2, 1, 2]
  y = style.pixel_norm(x)
  np.testing.assert_allclose(y[0, 0, 0], [3 / math.sqrt(12.5), 4 / math.sqrt(12.5)], rtol=1e-6)
  np.testing.assert_allclose(y[0, 1, 0], [0.0, 2 / math.sqrt(2.0)], rtol=1e-6)


def test_minibatch_stddev_by_hand():
  # N=4, group size 2: sample n is in group n mod 2, i.e. {0, 2} and {1, 3}.
  x = jnp.array([1.0, 10.0, 3.0, 30.0, 5.0, 20.0, 5.0, 40.0]).reshape(4, 1, 1, 2)
  # Features of samples 0 and 2: (1, 10) and (5, 20): stds |a-b|/2 = 2 and 5, mean 3.5.
  # Samples 1 and 3: (3, 30) and (5, 40): stds 1 and 5, mean 3.
  y = style.minibatch_stddev(x, group_size=2)
  assert y.shape == (4, 1, 1, 3)
  np.testing.assert_allclose(y[..., :2], x)
  np.testing.assert_allclose(y[:, 0, 0, 2], [3.5, 3.0, 3.5, 3.0], rtol=1e-6)
  # group size above the batch: the whole batch is one group; spatial mean of the stds.
  x2 = jnp.array([0.0, 2.0, 4.0, 8.0]).reshape(2, 1, 2, 1)  # pixel stds 2 and 3 -> 2.5
  np.testing.assert_allclose(style.minibatch_stddev(x2, group_size=4)[:, :, :, 1], 2.5, rtol=1e-6)
  with pytest.raises(ValueError, match="divisible"):
    style.minibatch_stddev(jnp.zeros((6, 2, 2, 1)), group_size=4)


def test_instance_norm_by_hand():
  x = jnp.array([1.0, 3.0, 5.0, 7.0]).reshape(1, 2, 2, 1)  # mean 4, variance 5
  np.testing.assert_allclose(style.instance_norm(x).ravel(),
                             (np.array([1, 3, 5, 7]) - 4) / math.sqrt(5), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Noise injection and AdaIN.


def test_noise_injection_uses_the_rng_and_its_scale():
  layer = style.NoiseInjection(per_channel=True)
  x = _normal(1, (2, 4, 4, 3))
  variables = layer.init({"params": KEY, "noise": KEY}, x)
  assert variables["params"]["strength"].shape == (3,)
  np.testing.assert_array_equal(variables["params"]["strength"], 0.0)  # zero init
  np.testing.assert_allclose(layer.apply(variables, x, rngs={"noise": KEY}), x)
  strength = jnp.array([1.0, 2.0, -3.0])
  v = {**variables, "params": {"strength": strength}}
  out_a = layer.apply(v, x, rngs={"noise": jax.random.PRNGKey(5)})
  out_b = layer.apply(v, x, rngs={"noise": jax.random.PRNGKey(5)})
  out_c = layer.apply(v, x, rngs={"noise": jax.random.PRNGKey(6)})
  np.testing.assert_array_equal(out_a, out_b)
  assert not np.allclose(out_a, out_c)
  noise = (out_a - x) / strength  # one noise value per pixel, shared by the channels
  np.testing.assert_allclose(noise[..., 1], noise[..., 0], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(noise[..., 2], noise[..., 0], rtol=1e-5, atol=1e-6)
  assert not np.allclose(noise[0], noise[1])  # per sample
  # 'const': the layer's buffer, the same for every sample; 'none': nothing.
  const = layer.apply(v, x, "const")
  expected = jnp.broadcast_to(variables["noise_const"]["noise"][None] * strength, x.shape)
  np.testing.assert_allclose(const - x, expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(layer.apply(v, x, "none"), x)
  # StyleGAN2's: one scalar strength.
  scalar = style.NoiseInjection(per_channel=False).init(KEY, x)
  assert scalar["params"]["strength"].shape == ()


def test_adain_against_the_formula():
  layer = style.AdaIN()
  x = _normal(1, (2, 3, 3, 4)) * 3 + 1
  w = _normal(2, (2, 5))
  params = layer.init(KEY, x, w)["params"]
  np.testing.assert_array_equal(params["scale"]["bias"], 1.0)
  np.testing.assert_array_equal(params["bias"]["bias"], 0.0)
  params = jax.tree_util.tree_map(lambda p: p + 0.3, params)
  xn = np.asarray(x, np.float64)
  xn = (xn - xn.mean(axis=(1, 2), keepdims=True)) / np.sqrt(
      xn.var(axis=(1, 2), keepdims=True) + 1e-8)
  wn = np.asarray(w, np.float64)
  scale = wn @ np.asarray(params["scale"]["kernel"]) / math.sqrt(5) + np.asarray(
      params["scale"]["bias"])
  bias = wn @ np.asarray(params["bias"]["kernel"]) / math.sqrt(5) + np.asarray(
      params["bias"]["bias"])
  expected = xn * scale[:, None, None, :] + bias[:, None, None, :]
  np.testing.assert_allclose(layer.apply({"params": params}, x, w), expected, rtol=1e-4,
                             atol=1e-5)


# ---------------------------------------------------------------------------------------------
# FIR filtering.


def test_filters_sum_to_their_gain():
  for taps in (fir.BLUR_STYLEGAN, fir.RESAMPLE_STYLEGAN2):
    for gain in (1.0, 4.0):
      f = fir.setup_filter(taps, gain)
      assert f.shape == (len(taps), len(taps))
      np.testing.assert_allclose(f.sum(), gain, rtol=1e-6)
      # The filter upfirdn2d applies: its impulse response, over the full support.
      k = len(taps)
      impulse = jnp.zeros((1, 1, 1, 2)).at[0, 0, 0, 1].set(1.0)
      response = fir.upfirdn2d(impulse, taps, pad=(k - 1, k - 1), gain=gain)
      np.testing.assert_allclose(response[0, :, :, 1], f, rtol=1e-6)
      np.testing.assert_array_equal(response[0, :, :, 0], 0.0)
  np.testing.assert_allclose(fir.setup_filter((1, 2, 1))[1], [2 / 16, 4 / 16, 2 / 16])


def _separable(x2d, m):
  return m @ x2d @ m.T


def test_upsample_downsample_and_blur_by_hand():
  x = np.array([[1.0, 2.0], [3.0, 5.0]])
  u = np.array([[0.75, 0], [0.75, 0.25], [0.25, 0.75], [0, 0.75]])  # [1,3,3,1]/8 * 2 per axis
  up = fir.upsample2d(jnp.asarray(x)[None, :, :, None])[0, :, :, 0]
  np.testing.assert_allclose(up, _separable(x, u), rtol=1e-6)
  x4 = np.arange(16.0).reshape(4, 4) ** 1.5
  d = np.array([[3, 3, 1, 0], [0, 1, 3, 3]]) / 8.0
  down = fir.downsample2d(jnp.asarray(x4)[None, :, :, None])[0, :, :, 0]
  np.testing.assert_allclose(down, _separable(x4, d), rtol=1e-5)
  b = np.array([[2, 1, 0, 0], [1, 2, 1, 0], [0, 1, 2, 1], [0, 0, 1, 2]]) / 4.0
  blurred = fir.blur(jnp.asarray(x4)[None, :, :, None])[0, :, :, 0]
  np.testing.assert_allclose(blurred, _separable(x4, b), rtol=1e-5)
  np.testing.assert_allclose(fir.upscale_nearest(jnp.asarray(x)[None, :, :, None])[0, :, :, 0],
                             np.kron(x, np.ones((2, 2))))
  np.testing.assert_allclose(fir.downscale_avg(jnp.asarray(x4)[None, :, :, None])[0, :, :, 0],
                             x4.reshape(2, 2, 2, 2).mean(axis=(1, 3)), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Modulated convolution.


def _effective_kernels(impl, demodulate, n=3, c_in=4, c_out=5):
  """The per-sample kernel each output channel applies, read off as d y[n, centre, o] / d x."""
  weight = _normal(1, (3, 3, c_in, c_out))
  styles = _normal(2, (n, c_in)) + 1.5
  x = _normal(3, (n, 5, 5, c_in))
  f = lambda x: style.modulated_conv2d(x, weight, styles, demodulate, impl=impl)[:, 2, 2, :]
  jac = jax.jacobian(f)(x)  # [N, O, N, H, W, I]
  return jnp.stack([jac[i, :, i, 1:4, 1:4, :] for i in range(n)])  # [N, O, 3, 3, I]


@pytest.mark.parametrize("impl", ["grouped", "fused"])
def test_demodulation_normalises_each_output_channels_weights(impl):
  kernels = _effective_kernels(impl, demodulate=True)
  norms = jnp.sqrt(jnp.sum(jnp.square(kernels), axis=(2, 3, 4)))
  np.testing.assert_allclose(norms, 1.0, rtol=1e-4)
  raw = jnp.sqrt(jnp.sum(jnp.square(_effective_kernels(impl, demodulate=False)), axis=(2, 3, 4)))
  assert float(jnp.min(jnp.abs(raw - 1.0))) > 0.1  # without demodulation they are not


@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_grouped_and_fused_modulated_convs_agree(demodulate, padding):
  x, weight, styles = _normal(1, (3, 6, 6, 4)), _normal(2, (3, 3, 4, 7)), _normal(3, (3, 4))
  grouped = style.modulated_conv2d(x, weight, styles, demodulate, padding, impl="grouped")
  fused = style.modulated_conv2d(x, weight, styles, demodulate, padding, impl="fused")
  np.testing.assert_allclose(grouped, fused, rtol=1e-4, atol=1e-5)


def test_modconv_auto_picks_by_backend():
  assert style.resolve_modconv_impl("auto") == style.AUTO_MODCONV[jax.default_backend()]
  with pytest.raises(ValueError):
    style.resolve_modconv_impl("winograd")


@pytest.mark.parametrize("impl", ["grouped", "fused"])
def test_upsampling_modulated_conv_matches_transposed_conv_then_filter(impl):
  """The official up=2 path: a stride-2 transposed conv of the modulated kernel (the full
  convolution of the zero-inserted input), then the [1,3,3,1] filter with gain 4, padding 1."""
  layer = style.ModulatedConv(6, 3, up=2, impl=impl)
  x, w = _normal(1, (2, 4, 4, 3)), _normal(2, (2, 5))
  params = layer.init(KEY, x, w)["params"]
  out = layer.apply({"params": params}, x, w)
  assert out.shape == (2, 8, 8, 6)
  styles = EqualizedDense(3, bias_init=1.0).apply({"params": params["affine"]}, w)
  kernel = params["kernel"]
  refs = []
  for i in range(2):
    wn = kernel * styles[i][None, None, :, None]
    wn = wn * jax.lax.rsqrt(jnp.sum(jnp.square(wn), axis=(0, 1, 2)) + 1e-8)
    y = jax.lax.conv_general_dilated(x[i:i + 1], wn, (1, 1), ((2, 2), (2, 2)),
                                     lhs_dilation=(2, 2),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))  # 2H+1
    refs.append(fir.upfirdn2d(y, fir.RESAMPLE_STYLEGAN2, pad=(1, 1), gain=4.0))
  np.testing.assert_allclose(out, jnp.concatenate(refs), rtol=1e-4, atol=1e-5)
