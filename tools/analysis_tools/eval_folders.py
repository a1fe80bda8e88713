"""FID / Inception Score / precision-recall between two image folders.

Usage:
    python tools/analysis_tools/eval_folders.py REAL FAKE [--metrics fid isc prc]
        [--feature-weights PATH] [--feature-extractor NAME] [--out metrics.json]
        [--batch-size 64] [--isc-splits 10] [--prc-neighborhood 3] [--device cpu|cuda]

A thin, offline front end of ``torch_fidelity.calculate_metrics`` (FAKE is its
``input1``, REAL its ``input2``). The JSON uses torch-fidelity's names:
``frechet_inception_distance``, ``inception_score_mean``,
``inception_score_std``, ``precision``, ``recall``, ``f_score``. All metrics
use the one ``--feature-extractor`` (Inception by default, also for
precision/recall, as in ``TorchFidelityMetric``); its weights come from
``--feature-weights`` or torch-fidelity's cache, never from the internet.
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import torch
import torch_fidelity

from sar_mm.evaluation import resolve_feature_extractor_weights

METRIC_FLAGS = ('fid', 'isc', 'prc')


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
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns the metrics dict."""
    args = parse_args(argv)
    for folder in (args.real, args.fake):
        if not osp.isdir(folder):
            raise NotADirectoryError(f'{folder} is not a folder')
    weights = resolve_feature_extractor_weights(args.feature_extractor, args.feature_weights)
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
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    return metrics


if __name__ == '__main__':
    main()
