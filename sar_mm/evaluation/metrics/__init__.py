"""Metrics built by the Runner's evaluator (``METRICS``)."""
from .sample_image_writer import SampleImageWriter
from .torch_fidelity_metric import TorchFidelityMetric

__all__ = ['SampleImageWriter', 'TorchFidelityMetric']
