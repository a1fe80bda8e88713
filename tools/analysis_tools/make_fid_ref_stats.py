"""Compute FID reference statistics (mu, sigma) of real images.

Usage:
    python tools/analysis_tools/make_fid_ref_stats.py IMAGES OUT.npz
        [--feature-weights PATH] [--feature-extractor NAME] [--size 256]
        [--save-images] [--batch-size 64] [--device cpu|cuda]
        [--trust-checkpoint] [--overwrite] [--debug]

IMAGES is a folder or an ADM reference batch (``.npz`` with ``arr_0`` uint8
(N, H, W, 3), e.g. ``VIRTUAL_imagenet256_labeled.npz``). Every image under a
folder (recursively; png/jpg/jpeg) is centre-cropped to ``--size`` with ADM's
``center_crop_arr`` (``--size 0`` keeps images as they are; they must then
share one size); the images of an ``.npz`` are already cropped and are used as
they are (``--size`` must be 0 or their side). The images pass through the
feature extractor (torch-fidelity's Inception by default, weights from
``--feature-weights`` or torch-fidelity's cache; nothing is downloaded), and
the statistics are written with the extractor name and layer, which
``TorchFidelityMetric`` checks. ``--save-images`` also stores the images as
``arr_0`` (N, H, W, 3), the ADM reference-batch layout, so the file can serve
precision/recall too.

The weights must hold only tensors unless ``--trust-checkpoint`` is given
(torch-fidelity unpickles them). OUT is written atomically with a
``provenance`` record (``sar_mm.evaluation.provenance``: the images, size,
extractor and the weights' digest); an existing OUT of other settings is
replaced only with ``--overwrite``, and never when it is the IMAGES file itself.
Statistics with NaN or inf are not written; statistics of fewer images than
feature dimensions are written with a warning. User errors print one line
(``--debug``: the traceback).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torch_fidelity.metric_fid import fid_features_to_statistics
from torch_fidelity.utils import (get_featuresdict_from_dataset, glob_samples_paths,
                                  resolve_feature_layer_for_metric)

from sar_mm.evaluation import (NpzImageDataset, build_feature_extractor, center_crop_arr,
                               resolve_feature_extractor_weights, save_reference_statistics)
from sar_mm.evaluation.provenance import check_output_file, file_sha256, make_provenance
from sar_mm.evaluation.reference import warn_few_images
from sar_mm.utils.cli_errors import add_debug_flag, report_user_errors
from sar_mm.utils.output_paths import check_not_an_input


class CenterCropFolder(Dataset):
    """uint8 (3, size, size) tensors of image files, ADM centre-cropped."""

    def __init__(self, files: List[str], size: int) -> None:
        self.files = files
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def array(self, index: int) -> np.ndarray:
        """uint8 (H, W, 3) image ``index``."""
        with Image.open(self.files[index]) as img:
            img = img.convert('RGB')
            return center_crop_arr(img, self.size) if self.size > 0 else np.asarray(img)

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.array(index).copy()).permute(2, 0, 1)  # (3, H, W)


def real_images(path: str, size: int) -> Dataset:
    """uint8 (3, H, W) images of a folder (ADM centre crop to ``size``) or an ADM ``.npz``."""
    if path.endswith('.npz'):
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'IMAGES {path} not found: an ADM reference batch .npz (arr_0 uint8 (N, H, W, 3); '
                'VIRTUAL_imagenet256_labeled.npz comes from the ADM evaluation suite of '
                'openai/guided-diffusion, evaluations/README.md); fetch it or fix the path')
        dataset = NpzImageDataset(path)
        side = dataset.images.shape[1:3]  # (N, H, W, 3) -> (H, W)
        if size and tuple(side) != (size, size):
            raise ValueError(f'{path} holds {side[0]} x {side[1]} images; --size {size} would '
                             'need them cropped again (pass --size 0 to use them as they are)')
        return dataset
    if not osp.isdir(path):
        raise FileNotFoundError(f'IMAGES {path} is neither a folder of images nor an ADM '
                                'reference batch .npz')
    files = glob_samples_paths(path, True, 'png,jpg,jpeg', verbose=False)
    if not files:
        raise FileNotFoundError(f'No png/jpg/jpeg image under the folder {path}')
    return CenterCropFolder(files, size)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FID reference statistics of an image folder')
    parser.add_argument('image_dir', help='folder of real images (searched recursively) or an '
                        'ADM reference batch .npz (arr_0)')
    parser.add_argument('out', help='output .npz')
    parser.add_argument('--feature-weights', help='feature-extractor weight file')
    parser.add_argument('--feature-extractor', default='inception-v3-compat',
                        help='torch-fidelity feature extractor name')
    parser.add_argument('--size', type=int, default=256,
                        help='ADM centre-crop size; 0 keeps the images as they are')
    parser.add_argument('--save-images', action='store_true',
                        help='also store the cropped images as arr_0 (for precision/recall)')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='let torch-fidelity unpickle --feature-weights although it holds '
                        'Python objects besides tensors; trusted files only')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an OUT file written with other settings')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns dict(mu=(D,), sigma=(D, D), num_images=N). A user error exits
    with one line."""
    args = parse_args(argv)
    with report_user_errors(args.debug):
        return make_statistics(args)


def make_statistics(args: argparse.Namespace) -> dict:
    """Check every input and OUT, then extract features and write the statistics."""
    check_not_an_input(args.out, [args.image_dir], 'OUT')
    dataset = real_images(args.image_dir, args.size)
    layer = resolve_feature_layer_for_metric('fid', feature_extractor=args.feature_extractor)
    weights = resolve_feature_extractor_weights(args.feature_extractor, args.feature_weights,
                                                '--feature-weights', args.trust_checkpoint)
    provenance = make_provenance(
        'tools/analysis_tools/make_fid_ref_stats.py',
        dict(images=osp.abspath(args.image_dir), num_images=len(dataset), size=args.size,
             feature_extractor=args.feature_extractor, feature_layer=layer,
             feature_weights_sha256=None if weights is None else file_sha256(weights),
             save_images=args.save_images))
    check_output_file(args.out, provenance, args.overwrite, 'OUT')
    extractor = build_feature_extractor(args.feature_extractor, [layer], weights, args.device,
                                        '--feature-weights', args.trust_checkpoint)
    print(f'{len(dataset)} images, {args.feature_extractor} features "{layer}"', file=sys.stderr)
    features = get_featuresdict_from_dataset(
        dataset,
        extractor,
        args.batch_size,
        cuda=torch.device(args.device).type == 'cuda',
        save_cpu_ram=False,
        verbose=True)[layer]
    stats = fid_features_to_statistics(features)
    warn_few_images(args.out, len(dataset), features.shape[1], 'the statistics')
    images = None
    if args.save_images:
        images = (dataset.images if isinstance(dataset, NpzImageDataset) else
                  np.stack([dataset.array(i) for i in range(len(dataset))]))  # (N, H, W, 3)
    save_reference_statistics(args.out, stats['mu'], stats['sigma'], args.feature_extractor,
                              layer, len(dataset), images, provenance)
    print(f'wrote {osp.abspath(args.out)}', file=sys.stderr)
    return dict(mu=stats['mu'], sigma=stats['sigma'], num_images=len(dataset))


if __name__ == '__main__':
    main()
