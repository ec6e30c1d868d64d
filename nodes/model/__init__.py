"""Model nodes (JAX/Flax NNX): classify, embed and generate audio with trained models.

Training from Python (what ``graphengine train`` and ``train-gen`` run)::

    from nodes.model import train_classifier, train_generator

JAX is imported only when a model is trained or run.
"""

from nodes.model.classifier import train_classifier
from nodes.model.generator import train_generator
from nodes.model.training import Progress

__all__ = ["Progress", "train_classifier", "train_generator"]
