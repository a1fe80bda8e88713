"""FID, Inception Score and precision/recall of generated images (docs/method.md §6.2).

One metric computes all three because they share the expensive part: every
generated image goes through the feature extractor (Inception-v3 at 299 px)
exactly once, inside ``process`` on the rank that generated it, and only the
per-sample features travel to rank 0. The maths is torch-fidelity's own
(``fid_features_to_statistics`` / ``fid_statistics_to_metric``,
``isc_features_to_metric``, ``prc_features_to_metric``), so the numbers equal
``torch_fidelity.calculate_metrics`` on the same images and weights.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch_fidelity import FeatureExtractorBase
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric
from torch_fidelity.utils import get_featuresdict_from_dataset, resolve_feature_layer_for_metric

from sar_mm.registry import METRICS
from ..feature_extractor import build_feature_extractor, resolve_feature_extractor_weights
from ..reference import (load_reference_statistics, missing_reference_message, reference_dataset,
                         reference_has_images, warn_few_images)

__all__ = ['TorchFidelityMetric']

SUPPORTED_METRICS = ('fid', 'isc', 'prc')


@METRICS.register_module()
class TorchFidelityMetric(BaseMetric):
    """Generative metrics over torch-fidelity features.

    Output keys are torch-fidelity's: ``frechet_inception_distance``;
    ``inception_score_mean``, ``inception_score_std``; ``precision``,
    ``recall``, ``f_score`` (precision: generated samples inside the real
    manifold, recall: real samples inside the generated one). Unlike
    torch-fidelity's default (VGG-16 for precision/recall), every metric uses
    the one configured extractor, as the ADM evaluator does with Inception.

    Distributed evaluation: ``process`` stores one entry per generated sample,
    ``dict(sample_idx, features)``; ``compute_metrics`` keeps one entry per
    ``sample_idx`` (the padding mmengine's sampler adds to the last rank
    repeats indices) and orders them by index, then checks that exactly as
    many samples as the dataset holds remain.

    The metrics are switched on by the flags ``fid``, ``isc`` and ``prc``, the
    names ``torch_fidelity.calculate_metrics`` uses (a ``metrics`` argument
    would make MMEngine's ``Runner.build_evaluator`` take the config for a
    whole evaluator).

    Args:
        fid: compute the Frechet Inception Distance.
        isc: compute the Inception Score.
        prc: compute precision and recall.
        reference: folder of real images or ``.npz`` (FID statistics and/or
            ADM ``arr_0`` images, see :mod:`sar_mm.evaluation.reference`).
            Required by ``fid`` and ``prc``; ``prc`` needs images.
        feature_extractor: name registered with torch-fidelity.
        feature_layer_fid, feature_layer_isc, feature_layer_prc: feature layer
            of each metric (torch-fidelity's options of the same names); None
            takes the extractor's default (Inception: ``'2048'`` for FID and
            precision/recall, ``'logits_unbiased'`` for IS).
        feature_extractor_weights_path: local weight file; None falls back to
            torch-fidelity's cache file. Nothing is downloaded; a missing file
            raises :class:`FeatureExtractorWeightsNotFoundError` here, before
            any sampling, and so does a file that is no checkpoint or holds
            Python objects besides tensors (unless trusted).
        trust_feature_extractor_weights: let torch-fidelity unpickle a weight
            file that holds Python objects (``tools/test.py --trust-checkpoint
            PATH`` trusts a path instead).
        device: where features are extracted; None picks ``cuda`` when
            available.
        batch_size: batch size for extracting reference features.
        isc_splits: number of splits of the Inception Score.
        prc_neighborhood: k of the k-NN manifolds of precision/recall.
        rng_seed: seed of the Inception Score's sample shuffle.
        fake_key: key of the uint8 (3, H, W) image in each model output.
        collect_device, collect_dir, prefix: see ``mmengine.evaluator.BaseMetric``.
    """

    default_prefix = 'fidelity'

    def __init__(self,
                 fid: bool = True,
                 isc: bool = True,
                 prc: bool = True,
                 reference: Optional[str] = None,
                 feature_extractor: str = 'inception-v3-compat',
                 feature_layer_fid: Optional[str] = None,
                 feature_layer_isc: Optional[str] = None,
                 feature_layer_prc: Optional[str] = None,
                 feature_extractor_weights_path: Optional[str] = None,
                 trust_feature_extractor_weights: bool = False,
                 device: Optional[str] = None,
                 batch_size: int = 64,
                 isc_splits: int = 10,
                 prc_neighborhood: int = 3,
                 rng_seed: int = 2020,
                 fake_key: str = 'fake_img',
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None,
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        metrics = tuple(name for name, on in zip(SUPPORTED_METRICS, (fid, isc, prc)) if on)
        if not metrics:
            raise ValueError('at least one of fid, isc, prc must be True')
        if {'fid', 'prc'} & set(metrics):
            if reference is None:
                raise ValueError('"fid" and "prc" need a `reference` (image folder or .npz)')
            if not osp.exists(reference):
                raise FileNotFoundError(
                    missing_reference_message(reference, 'test_evaluator.reference'))
            if 'prc' in metrics and not reference_has_images(reference):
                raise ValueError(f'"prc" needs reference images; {reference} holds statistics only '
                                 '(give an image folder or an .npz with "arr_0")')
        self.metrics = metrics
        self.reference = reference
        self.feature_extractor_name = feature_extractor
        self.trust_weights = trust_feature_extractor_weights
        # Resolved now so that a missing or untrusted weight file fails before any sampling.
        self.weights_path = resolve_feature_extractor_weights(
            feature_extractor, feature_extractor_weights_path,
            'test_evaluator.feature_extractor_weights_path', trust_feature_extractor_weights)
        layer_options = dict(
            feature_extractor=feature_extractor,
            feature_layer_fid=feature_layer_fid,
            feature_layer_isc=feature_layer_isc,
            feature_layer_prc=feature_layer_prc)
        self.feature_layer = {
            metric: resolve_feature_layer_for_metric(metric, **layer_options)
            for metric in metrics
        }
        self.feature_layers: List[str] = list(dict.fromkeys(self.feature_layer.values()))
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.batch_size = batch_size
        self.isc_splits = isc_splits
        self.prc_neighborhood = prc_neighborhood
        self.rng_seed = rng_seed
        self.fake_key = fake_key
        self._extractor: Optional[FeatureExtractorBase] = None
        self._reference_features: Optional[Dict[str, torch.Tensor]] = None
        self._reference_fid_stats: Optional[Dict[str, np.ndarray]] = None
        self._expected_num_samples: Optional[int] = None
        if 'fid' in metrics:  # read now: unusable statistics fail before any sampling
            self._reference_fid_stats = load_reference_statistics(
                reference, feature_extractor, self.feature_layer['fid'])

    @property
    def extractor(self) -> FeatureExtractorBase:
        """The feature extractor, built on first use."""
        if self._extractor is None:
            self._extractor = build_feature_extractor(self.feature_extractor_name,
                                                      self.feature_layers, self.weights_path,
                                                      self.device, trust=self.trust_weights)
        return self._extractor

    @torch.no_grad()
    def extract_features(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Features of a batch of images.

        Args:
            images (Tensor): uint8 (B, 3, H, W).

        Autocast is switched off: a ``fp16=True`` val/test loop must not run the
        extractor in half precision.

        Returns:
            dict: feature layer name -> float32 (B, D_layer) on the CPU.
        """
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise TypeError(f'Expected uint8 images (B, 3, H, W), got {images.dtype} '
                            f'{tuple(images.shape)}')
        device = torch.device(self.device)
        with torch.autocast(device.type, enabled=False):
            features = self.extractor(images.to(device))
        return {layer: feat.float().cpu() for layer, feat in zip(self.feature_layers, features)}

    def process(self, data_batch: Optional[dict], data_samples: Sequence[dict]) -> None:
        """Extract the features of one batch of generated samples.

        Args:
            data_batch: the dataloader batch (unused).
            data_samples: model outputs, each a dict with the uint8 (3, H, W)
                image under ``fake_key`` and its ``sample_idx``.
        """
        if not data_samples:
            return
        images = torch.stack([sample[self.fake_key] for sample in data_samples])  # (B, 3, H, W)
        features = self.extract_features(images)
        for i, sample in enumerate(data_samples):
            # clone(): a pickled view would carry the whole batch's storage to rank 0
            self.results.append(
                dict(
                    sample_idx=int(sample['sample_idx']),
                    features={layer: feat[i].clone() for layer, feat in features.items()}))

    def evaluate(self, size: int) -> dict:
        """Collect the per-sample features of all ranks and compute the metrics.

        Args:
            size: number of samples in the dataset (padding excluded).
        """
        self._expected_num_samples = size
        return super().evaluate(size)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Deduplicate by ``sample_idx``, order by it and compute the metrics."""
        unique = {}
        for result in results:
            unique.setdefault(result['sample_idx'], result)
        order = sorted(unique)
        if self._expected_num_samples is not None and len(order) != self._expected_num_samples:
            raise RuntimeError(f'{len(order)} distinct sample_idx values were collected, the '
                               f'dataset has {self._expected_num_samples} samples')
        features = {
            layer: torch.stack([unique[idx]['features'][layer] for idx in order])  # (N, D)
            for layer in self.feature_layers
        }
        print_log(f'{type(self).__name__}: {self.metrics} over {len(order)} samples',
                  logger='current')
        return self.compute_from_features(features)

    def compute_from_features(self, features: Dict[str, torch.Tensor]) -> Dict[str, float]:
        """Metrics of generated samples given their features.

        Args:
            features: layer name -> float32 (N, D) features in sample order.

        Returns:
            dict of floats with torch-fidelity's metric names.
        """
        out: Dict[str, float] = {}
        if 'fid' in self.metrics:
            fake_features = features[self.feature_layer['fid']]  # (N, D)
            warn_few_images('the generated samples', *fake_features.shape, 'FID statistics of')
            fake_stats = fid_features_to_statistics(fake_features)
            fake_stats = {k: np.asarray(v, dtype=np.float64) for k, v in fake_stats.items()}
            real_stats = self.reference_fid_statistics()
            if real_stats['mu'].shape != fake_stats['mu'].shape:
                raise ValueError(
                    f'Reference statistics have dimension {real_stats["mu"].shape[0]}, the '
                    f'"{self.feature_layer["fid"]}" features of "{self.feature_extractor_name}" '
                    f'have {fake_stats["mu"].shape[0]}')
            out.update(fid_statistics_to_metric(fake_stats, real_stats, verbose=False))
        if 'isc' in self.metrics:
            out.update(
                isc_features_to_metric(
                    features[self.feature_layer['isc']],
                    splits=self.isc_splits,
                    shuffle=True,
                    rng_seed=self.rng_seed))
        if 'prc' in self.metrics:
            layer = self.feature_layer['prc']
            out.update(
                prc_features_to_metric(
                    features[layer],
                    self.reference_features()[layer],
                    prc_neighborhood=self.prc_neighborhood,
                    verbose=False))
        return out

    def reference_features(self) -> Dict[str, torch.Tensor]:
        """Features of the reference images, extracted once and cached.

        Returns:
            dict: layer name -> float32 (N_ref, D).
        """
        if self._reference_features is None:
            dataset = reference_dataset(self.reference)
            print_log(f'Extracting features of {len(dataset)} reference images from '
                      f'{self.reference}', logger='current')
            self._reference_features = get_featuresdict_from_dataset(
                dataset,
                self.extractor,
                self.batch_size,
                cuda=torch.device(self.device).type == 'cuda',
                save_cpu_ram=True,  # no loader worker processes
                verbose=is_main_process())
        return self._reference_features

    def reference_fid_statistics(self) -> Dict[str, np.ndarray]:
        """FID statistics of the reference: from the ``.npz`` or its images.

        Returns:
            dict(mu=float64 (D,), sigma=float64 (D, D)).
        """
        if self._reference_fid_stats is None:
            layer = self.feature_layer['fid']
            stats = load_reference_statistics(self.reference, self.feature_extractor_name, layer)
            if stats is None:
                stats = fid_features_to_statistics(self.reference_features()[layer])
                stats = {k: np.asarray(v, dtype=np.float64) for k, v in stats.items()}
            self._reference_fid_stats = stats
        return self._reference_fid_stats
