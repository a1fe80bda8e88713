"""Image classifiers used as evaluation feature extractors (toy FID)."""
from .shapes_classifier import ShapesClassifier

__all__ = ['ShapesClassifier']
