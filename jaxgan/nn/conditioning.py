"""How labels and latents condition BigGAN-style networks: hierarchical latents, the shared class
embedding, and the projection discriminator's output head (Miyato & Koyama 2018)."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxgan.nn.spectral import SNDense, SNEmbed


def split_latents(z, num_chunks: int):
  """BigGAN's hierarchical latents: z (B, D) -> num_chunks equal chunks (B, D / num_chunks).

  The first chunk feeds G's input layer; chunk i + 1 is concatenated with the shared class
  embedding to condition the batch norms of block i.
  """
  if z.shape[-1] % num_chunks:
    raise ValueError(f"latent_dim {z.shape[-1]} does not split into {num_chunks} equal chunks")
  return jnp.split(z, num_chunks, axis=-1)


def block_conditions(z_chunks, shared):
  """The conditioning vector of each G block: [shared embedding, z chunk] (or the chunk alone
  when unconditional); z_chunks are the chunks after the input layer's."""
  if shared is None:
    return list(z_chunks)
  return [jnp.concatenate([shared, chunk.astype(shared.dtype)], axis=-1) for chunk in z_chunks]


class ProjectionHead(nn.Module):
  """D's output from pooled features h (B, C): psi(h) + <embed(y), h> (the projection
  discriminator); just psi(h) when unconditional (num_classes = 0 or labels None)."""

  num_classes: int = 0
  use_sn: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.orthogonal()

  @nn.compact
  def __call__(self, h, labels, update: bool = True):
    h = h.astype(jnp.float32)
    out = SNDense(1, use_sn=self.use_sn, kernel_init=self.kernel_init, name="linear")(
        h, update)[:, 0]
    if self.num_classes and labels is not None:
      embedding = SNEmbed(self.num_classes, h.shape[-1], use_sn=self.use_sn,
                          embedding_init=self.kernel_init, name="embed")(labels, update)
      out = out + jnp.sum(embedding * h, axis=-1)
    return out
