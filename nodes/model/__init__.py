"""Model nodes (JAX/Flax NNX): classify, embed and generate audio with trained models."""
