"""FID / Inception Score / precision-recall between two image folders.

Usage:
    python tools/analysis_tools/eval_folders.py REAL FAKE [--metrics fid isc prc]
        [--feature-weights PATH] [--feature-extractor NAME] [--out metrics.json]
        [--batch-size 64] [--isc-splits 10] [--prc-neighborhood 3] [--device cpu|cuda]
        [--trust-checkpoint] [--overwrite] [--debug]

A thin, offline front end of ``torch_fidelity.calculate_metrics`` (FAKE is its
``input1``, REAL its ``input2``). The JSON uses torch-fidelity's names:
``frechet_inception_distance``, ``inception_score_mean``,
``inception_score_std``, ``precision``, ``recall``, ``f_score``. All metrics
use the one ``--feature-extractor`` (Inception by default, also for
precision/recall, as in ``TorchFidelityMetric``); its weights come from
``--feature-weights`` or torch-fidelity's cache, never from the internet, and
must hold only tensors unless ``--trust-checkpoint`` is given (torch-fidelity
unpickles them).

``--out`` is written atomically as ``{"metrics": ..., "provenance": ...}``
(``sar_mm.evaluation.provenance``: folders, options, the weights' digest); an
existing file of other settings is replaced only with ``--overwrite``. A NaN
metric is written as ``null``. User errors print one line (``--debug``: the
traceback).
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import torch
import torch_fidelity
from torch_fidelity.utils import create_feature_extractor, resolve_feature_layer_for_metric

from sar_mm.evaluation import resolve_feature_extractor_weights
from sar_mm.evaluation.reference import warn_few_images
from sar_mm.evaluation.provenance import check_output_file, file_sha256, make_provenance
from sar_mm.evaluation.results_json import finite_metrics, write_results_json
from sar_mm.utils.cli_errors import add_debug_flag, report_user_errors

METRIC_FLAGS = ('fid', 'isc', 'prc')
#: the files torch-fidelity reads from a folder (not its subfolders)
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')


def count_images(folder: str) -> int:
    """Images torch-fidelity will read from ``folder``."""
    return sum(name.lower().endswith(IMAGE_SUFFIXES) for name in os.listdir(folder))


def fid_feature_dimension(name: str, weights: Optional[str]) -> int:
    """Dimension D of the features the FID of extractor ``name`` compares (Inception: 2048)."""
    layer = resolve_feature_layer_for_metric('fid', feature_extractor=name)
    extractor = create_feature_extractor(name, [layer], cuda=False,
                                         feature_extractor_weights_path=weights)
    with torch.no_grad():
        return extractor(extractor.get_dummy_input_for_compile())[0].shape[-1]


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generative metrics between two image folders')
    parser.add_argument('real', help='folder of real (reference) images')
    parser.add_argument('fake', help='folder of generated images')
    parser.add_argument('--metrics', nargs='+', choices=METRIC_FLAGS, default=list(METRIC_FLAGS))
    parser.add_argument('--feature-weights', help='feature-extractor weight file')
    parser.add_argument('--feature-extractor', default='inception-v3-compat',
                        help='torch-fidelity feature extractor name (built-in or registered)')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--isc-splits', type=int, default=10)
    parser.add_argument('--prc-neighborhood', type=int, default=3)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='let torch-fidelity unpickle --feature-weights although it holds '
                        'Python objects besides tensors; trusted files only')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an --out file written with other settings')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns the metrics dict. A user error exits with one line."""
    args = parse_args(argv)
    with report_user_errors(args.debug):
        return evaluate(args)


def evaluate(args: argparse.Namespace) -> dict:
    """Score ``args.fake`` against ``args.real``; every input is checked before any work."""
    for name, folder in (('REAL', args.real), ('FAKE', args.fake)):
        if not osp.isdir(folder):
            raise NotADirectoryError(f'{name} {folder} is not a folder of images')
    weights = resolve_feature_extractor_weights(args.feature_extractor, args.feature_weights,
                                                '--feature-weights', args.trust_checkpoint)
    provenance = make_provenance(
        'tools/analysis_tools/eval_folders.py',
        dict(real=osp.abspath(args.real), fake=osp.abspath(args.fake), metrics=args.metrics,
             feature_extractor=args.feature_extractor,
             feature_weights_sha256=None if weights is None else file_sha256(weights),
             isc_splits=args.isc_splits, prc_neighborhood=args.prc_neighborhood))
    if args.out:
        check_output_file(args.out, provenance, args.overwrite, '--out')
    if 'fid' in args.metrics:  # a singular covariance: FID not comparable, said before the work
        dimension = fid_feature_dimension(args.feature_extractor, weights)
        for name, folder in (('REAL', args.real), ('FAKE', args.fake)):
            warn_few_images(folder, count_images(folder), dimension, f'FID statistics of {name}')
    metrics = torch_fidelity.calculate_metrics(
        input1=args.fake,
        input2=args.real,
        cuda=torch.device(args.device).type == 'cuda',
        batch_size=args.batch_size,
        feature_extractor=args.feature_extractor,
        feature_extractor_weights_path=weights,
        isc_splits=args.isc_splits,
        prc_neighborhood=args.prc_neighborhood,
        cache=False,
        verbose=True,
        **{flag: flag in args.metrics for flag in METRIC_FLAGS})
    print(json.dumps(finite_metrics(metrics), indent=2))
    if args.out:
        write_results_json(args.out, metrics, provenance)
    return metrics


if __name__ == '__main__':
    main()
