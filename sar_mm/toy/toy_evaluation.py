"""Evaluation of the embedded pipeline's generators on held-out synthetic shapes.

For one model: class-conditional samples (the same labels and sampling seeds
for every model of a seed), FID / IS / precision / recall on the toy
classifier's features against held-out real images, the classifier's accuracy
on the samples, per-scale teacher-forced versus rolled-out token accuracy
(:func:`sar_mm.evaluation.exposure_bias.measure_exposure_bias`) and sample
grids. Results are cached as JSON, so an interrupted evaluation resumes.
"""
import json
import time
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch
from PIL import Image

from sar_mm.apis import image_grid, init_generator, sample_images
from sar_mm.datasets import SyntheticShapesDataset
from sar_mm.evaluation import TorchFidelityMetric
from sar_mm.evaluation.exposure_bias import EXPOSURE_BIAS_MODES, measure_exposure_bias
from sar_mm.evaluation.shapes_feature_extractor import register_shapes_feature_extractor
from sar_mm.models.data_preprocessors import to_symmetric_range
from .stages import TOY_CONFIGS, log

__all__ = ['NUM_CLASSES', 'REFERENCE_SEED', 'EXPOSURE_SEED', 'REAL_ROW_SEED', 'real_images',
           'save_png', 'toy_features', 'score_images', 'toy_metric', 'evaluate_model',
           'evaluate_real']

NUM_CLASSES = 10
# Data seeds: generators train on 0, the classifier on 1; the FID reference,
# the exposure-bias images and the real-data row use fresh seeds.
REFERENCE_SEED, EXPOSURE_SEED, REAL_ROW_SEED = 2, 3, 4
# Grid samples: two per class, the same labels and seeds for every model.
GRID_LABELS = [c for c in range(NUM_CLASSES) for _ in range(2)]
GRID_SEEDS = list(range(len(GRID_LABELS)))


def real_images(seed: int, num: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """uint8 (num, 3, 32, 32) synthetic images of data seed ``seed`` and their labels."""
    dataset = SyntheticShapesDataset(num_samples=num, image_size=32, seed=seed)
    infos = [dataset.get_data_info(i) for i in range(num)]
    images = torch.from_numpy(np.stack([info['img'] for info in infos])).permute(0, 3, 1, 2)
    labels = torch.tensor([info['gt_label'] for info in infos], dtype=torch.long)
    return images.contiguous(), labels


def save_png(array: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def toy_metric(work_dir: Path, classifier: str, reference_images: int) -> TorchFidelityMetric:
    """FID / IS / precision-recall on the toy classifier's features against
    ``reference_images`` held-out real images (written once to ``eval/reference.npz``)."""
    (work_dir / 'eval').mkdir(parents=True, exist_ok=True)
    reference = work_dir / 'eval' / 'reference.npz'
    if not reference.is_file():
        ref_images, _ = real_images(REFERENCE_SEED, reference_images)
        np.savez(reference, arr_0=ref_images.permute(0, 2, 3, 1).numpy())
    return TorchFidelityMetric(
        fid=True, isc=True, prc=True, reference=str(reference),
        feature_extractor=register_shapes_feature_extractor(),
        feature_extractor_weights_path=classifier, device='cpu')


def toy_features(metric: TorchFidelityMetric, images: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The toy classifier's features of uint8 (N, 3, 32, 32) images, in chunks of 256;
    ``logits`` (N, 10) among them."""
    chunks = [metric.extract_features(images[i:i + 256]) for i in range(0, len(images), 256)]
    return {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}


def score_images(metric: TorchFidelityMetric, images: torch.Tensor,
                 labels: torch.Tensor) -> Dict[str, float]:
    """FID / IS / precision / recall on the toy features and the class accuracy."""
    features = toy_features(metric, images)
    scores = metric.compute_from_features(features)
    accuracy = (features['logits'].argmax(dim=1) == labels).float().mean().item() * 100
    return dict(fid=float(scores['frechet_inception_distance']), class_acc=accuracy,
                isc=float(scores['inception_score_mean']), precision=float(scores['precision']),
                recall=float(scores['recall']))


def evaluate_model(out_dir: Path, run: str, config: str, checkpoint: str, seed: int,
                   metric: TorchFidelityMetric, exposure: Tuple[torch.Tensor, torch.Tensor],
                   samples_per_class: int, grids: bool = True) -> dict:
    """Samples, scores, exposure bias and grids of one model.

    Args:
        out_dir (Path): the result goes to ``out_dir/eval/<run>.json`` (reused when
            it exists), grids to ``out_dir/grids/<run>_{samples,scales}.png``.
        run (str): the model's name.
        config (str): a config of ``configs/toy``.
        checkpoint (str): its weights.
        seed (int): sampling seeds ``seed * N + i`` for sample ``i`` of ``N``.
        metric: from :func:`toy_metric`.
        exposure: uint8 (M, 3, 32, 32) real images and (M,) labels.
        samples_per_class (int): samples of each of the 10 classes.
        grids (bool): also write the sample grids.
    """
    out = out_dir / 'eval' / f'{run}.json'
    if out.is_file():
        log(f'eval {run}: finished earlier, skipped')
        return json.loads(out.read_text())
    start = time.time()
    generator = init_generator(str(TOY_CONFIGS / config), checkpoint, trust_checkpoint=True)
    num = NUM_CLASSES * samples_per_class
    labels = torch.arange(num) // samples_per_class
    seeds = [seed * num + i for i in range(num)]  # the same for every model of this seed
    images = []
    for i in range(0, num, 100):
        images.append(torch.from_numpy(sample_images(generator, labels[i:i + 100],
                                                     seeds=seeds[i:i + 100])).permute(0, 3, 1, 2))
    result = dict(run=run, config=config, checkpoint=checkpoint, seed=seed, num_samples=num)
    result.update(score_images(metric, torch.cat(images), labels))
    exposure_inputs = to_symmetric_range(exposure[0])  # (M, 3, H, W) in [-1, 1]
    result['exposure_bias'] = {
        mode: measure_exposure_bias(generator, exposure_inputs, exposure[1], mode=mode)
        for mode in EXPOSURE_BIAS_MODES}
    if grids:
        final, scales = sample_images(generator, GRID_LABELS, seeds=GRID_SEEDS,
                                      return_scale_images=True)
        save_png(image_grid(final, nrow=10), out_dir / 'grids' / f'{run}_samples.png')
        save_png(image_grid(final[::2], [s[::2] for s in scales]),
                 out_dir / 'grids' / f'{run}_scales.png')
    result['wall_s'] = time.time() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log(f'eval {run}: FID {result["fid"]:.2f}, class acc {result["class_acc"]:.1f}% '
        f'({result["wall_s"]:.0f} s)')
    return result


def evaluate_real(work_dir: Path, metric: TorchFidelityMetric, num: int) -> dict:
    """The scores of held-out real images: the floor of FID, the ceiling of accuracy."""
    out = work_dir / 'eval' / 'real.json'
    if out.is_file():
        return json.loads(out.read_text())
    images, labels = real_images(REAL_ROW_SEED, num)
    result = dict(run='real', num_samples=num, **score_images(metric, images, labels))
    out.write_text(json.dumps(result, indent=1))
    return result
