"""Model nodes (JAX/Flax NNX): classify, embed and generate audio with trained models.

Training from Python (what ``graphengine train`` and ``train-gen`` run)::

    from nodes.model import train_classifier, train_generator

JAX is imported only when a model is trained or run.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodes.model.classifier import train_classifier
    from nodes.model.generator import train_generator
    from nodes.model.training import Progress

_HOME = {
    "Progress": "nodes.model.training",
    "train_classifier": "nodes.model.classifier",
    "train_generator": "nodes.model.generator",
}


def __getattr__(name: str) -> Any:
    # imported on first use: ``graphengine --help`` loads this package for its
    # commands (nodes.model.commands) and needs none of the model modules
    if name not in _HOME:
        raise AttributeError(f"module 'nodes.model' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)


__all__ = ["Progress", "train_classifier", "train_generator"]
