"""Zero-shot image-to-image with the embedded pipeline's generators (docs/method.md §5.4).

For one toy generator, on held-out synthetic shapes (a data seed no stage
trains on): class-conditional edits of the middle of each image towards
another class, scored by the toy classifier against the requested class (and
against the image's own class), in-painting of the middle under the image's
own class, scored the same way, and three grids (in-painting, out-painting of
the image shrunk into a canvas, class-conditional editing). Results are
cached as JSON, so an interrupted evaluation resumes.
"""
import json
import time
from pathlib import Path

import numpy as np
import torch

from sar_mm.apis import edit_grid, edit_images, init_generator
from sar_mm.evaluation import TorchFidelityMetric
from sar_mm.utils.edit_canvas import box_mask, fit_square, pad_to_canvas
from .stages import TOY_CONFIGS, log
from .toy_evaluation import NUM_CLASSES, real_images, save_png, toy_features

__all__ = ['EDIT_SEED', 'INPAINT_BOX', 'EDIT_BOX', 'OUTPAINT_PAD', 'edit_targets',
           'evaluate_editing']

#: Data seed of the edited images (generators train on 0, the classifier on 1,
#: the evaluation's real images use 2-4).
EDIT_SEED = 5
#: In-painting: the middle 16 x 16 px (4 x 4 of the 8 x 8 latent cells).
INPAINT_BOX = (8, 8, 24, 24)
#: Class-conditional editing: the middle 24 x 24 px (6 x 6 latent cells); the
#: kept border holds the source class's background colour.
EDIT_BOX = (4, 4, 28, 28)
#: Out-painting: the image shrunk to 16 px in the middle of the 32 px canvas.
OUTPAINT_PAD = 8
#: Grids: one held-out image of each class per row, this many results each.
GRID_RESULTS = 3


def edit_targets(labels: torch.Tensor) -> torch.Tensor:
    """Another class for every image: ``(label + 1 + i mod 9) mod 10`` for image ``i``,
    so every other class is requested about equally often."""
    shift = 1 + torch.arange(labels.numel()) % (NUM_CLASSES - 1)
    return (labels + shift) % NUM_CLASSES


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(dim=1) == labels).double().mean().item() * 100


def evaluate_editing(out_dir: Path, run: str, config: str, checkpoint: str, seed: int,
                     metric: TorchFidelityMetric, num_images: int) -> dict:
    """Edit accuracies and grids of one model.

    Args:
        out_dir (Path): the result goes to ``out_dir/eval/<run>_editing.json``
            (reused when it exists), grids to
            ``out_dir/grids/<run>_{inpaint,outpaint,edit}.png``.
        run (str): the model's name.
        config (str): a config of ``configs/toy``.
        checkpoint (str): its weights.
        seed (int): the edits are drawn as one batch from a generator seeded
            with ``seed``, the grids' from one seeded with ``seed + 1``.
        metric: from :func:`~sar_mm.toy.toy_metric` (its classifier scores the edits).
        num_images (int): held-out images for the accuracies (at least 10: the
            first ten, one per class, fill the grids).

    Returns:
        dict: ``edit_target_acc`` and ``edit_source_acc`` (%, the classifier's
        accuracy on the class-conditional edits against the requested class
        and against the image's own class), ``inpaint_acc`` (%, in-painted
        under the image's own class), ``num_images``, ``wall_s``.
    """
    out = out_dir / 'eval' / f'{run}_editing.json'
    if out.is_file():
        log(f'editing {run}: finished earlier, skipped')
        return json.loads(out.read_text())
    start = time.time()
    generator = init_generator(str(TOY_CONFIGS / config), checkpoint, trust_checkpoint=True)
    images, labels = real_images(EDIT_SEED, num_images)
    hwc = images.permute(0, 2, 3, 1).numpy()  # (N, 32, 32, 3)
    targets = edit_targets(labels)
    edit_masks = np.repeat(box_mask(32, 32, EDIT_BOX)[None], num_images, axis=0)
    inpaint_masks = np.repeat(box_mask(32, 32, INPAINT_BOX)[None], num_images, axis=0)
    # one batch for the class-conditional edits and the in-paintings
    both = edit_images(generator, np.concatenate([hwc, hwc]),
                       np.concatenate([edit_masks, inpaint_masks]),
                       torch.cat([targets, labels]), seed=seed)
    logits = toy_features(metric, torch.from_numpy(both).permute(0, 3, 1, 2))['logits']
    edit_logits, inpaint_logits = logits[:num_images], logits[num_images:]
    result = dict(run=run, num_images=num_images,
                  edit_target_acc=_accuracy(edit_logits, targets),
                  edit_source_acc=_accuracy(edit_logits, labels),
                  inpaint_acc=_accuracy(inpaint_logits, labels))

    # grids: the first image of each class, in-painted and out-painted GRID_RESULTS times
    rows, row_labels = hwc[:NUM_CLASSES], labels[:NUM_CLASSES]
    canvases = [pad_to_canvas(fit_square(r, 32 - 2 * OUTPAINT_PAD), OUTPAINT_PAD) for r in rows]
    canvas, canvas_masks = (np.stack(parts) for parts in zip(*canvases))
    inputs = np.concatenate([rows, canvas]).repeat(GRID_RESULTS, axis=0)
    masks = np.concatenate([inpaint_masks[:NUM_CLASSES], canvas_masks]).repeat(GRID_RESULTS,
                                                                                 axis=0)
    grid_labels = torch.cat([row_labels, row_labels]).repeat_interleave(GRID_RESULTS)
    results = edit_images(generator, inputs, masks, grid_labels, seed=seed + 1)
    results = results.reshape(2, NUM_CLASSES, GRID_RESULTS, 32, 32, 3)
    save_png(edit_grid(rows, inpaint_masks[:NUM_CLASSES], results[0]),
             out_dir / 'grids' / f'{run}_inpaint.png')
    save_png(edit_grid(canvas, canvas_masks, results[1]),
             out_dir / 'grids' / f'{run}_outpaint.png')
    save_png(edit_grid(rows, edit_masks[:NUM_CLASSES], both[:NUM_CLASSES, None]),
             out_dir / 'grids' / f'{run}_edit.png')
    result['wall_s'] = time.time() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log(f'editing {run}: class edits {result["edit_target_acc"]:.1f}% requested class, '
        f'{result["edit_source_acc"]:.1f}% source class; in-painting {result["inpaint_acc"]:.1f}% '
        f'({result["wall_s"]:.0f} s)')
    return result
