"""What SAR does to exposure bias at toy scale: post-training arms with paired intervals.

Usage:
    python tools/analysis_tools/sar_study.py --work-dir DIR [--quick] [--seeds 0 1 2 3 4]
        [--pipelines K]

Seven arms (``ARMS``, the control ``tf`` first) post-train the same teacher-forcing
pretrained tiny FlexVAR of the embedded pipeline, reused when ``DIR`` holds a
finished ``tools/run_toy.py`` run of the same mode, and are compared with ``tf``
seed by seed (:class:`sar_mm.toy.Study`, :mod:`sar_mm.toy.arm_comparison`). With
``--pipelines K`` the comparison is repeated on K whole pipeline runs (pipeline
``k > 0``: another tokenizer and pretraining draw in ``DIR/pipeline<k>``); the
tables then pool the pairs (pipeline, seed), and a verdict table says whether each
difference holds in every pipeline. Design and results: docs/sar_study.md.

Outputs in ``DIR/study/``: ``study.json`` (every number; ``real``: the scores of
held-out real images, the same for every pipeline), ``study.md`` (the
tables), ``study_gaps.png``, one folder per arm and seed, ``eval/<run>.json``
(pipeline ``k > 0``: in ``DIR/pipeline<k>/study/``). Everything is resumable.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from sar_mm.toy import log, pipeline_dir
from sar_mm.toy.arm_comparison import across_pipelines, compare_arms, pool_pipelines
from sar_mm.toy.study import PRETRAINED, SAR_CONFIG, Arm, Study, finished_wall_s
from sar_mm.toy.study_report import plot_gaps, study_markdown
from sar_mm.utils.cli_errors import add_debug_flag, run_cli
from sar_mm.utils.setup_env import register_all_modules

ARMS = (
    Arm('tf', 'TF continuation (control)', 'flexvar_tiny_shapes_tf.py'),
    Arm('sar', 'SAR, official effective recipe (sigma 0.01)', SAR_CONFIG),
    Arm('sar_sigma0.1', 'SAR, sigma 0.1', SAR_CONFIG, ('model.loss.sigma=0.1', )),
    Arm('sar_sigma1', 'SAR, sigma 1.0', SAR_CONFIG, ('model.loss.sigma=1.0', )),
    Arm('sar_all', 'SAR, every transition (sf_scope=all)', SAR_CONFIG,
        ('model.rollout.sf_scope=all', 'model.rollout.sf_context=full')),
    Arm('sar_argmax', 'SAR, arg-max rollout, no CFG', SAR_CONFIG,
        ('model.rollout.token_selection=argmax', 'model.rollout.rollout_cfg=0.0')),
    Arm('naive_sf', 'naive student forcing (target = ground truth)', SAR_CONFIG,
        ('model.rollout.target=gt', )),
)
TITLES = {arm.name: arm.title for arm in (PRETRAINED, ) + ARMS}
CONTROL = ARMS[0].name

# The study's sizes. Full: 5 seeds; every post-training run is the toy's
# 1 epoch x 100 iterations of batch 64 (docs/sar_study.md explains the choice).
MODES = dict(
    full=dict(seeds=(0, 1, 2, 3, 4), samples_per_class=50, reference_images=1000,
              exposure_images=200),
    quick=dict(seeds=(0, 1), samples_per_class=5, reference_images=100, exposure_images=20),
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='SAR exposure-bias study on the toy pipeline')
    parser.add_argument('--work-dir', required=True,
                        help='directory of the toy stages (a finished tools/run_toy.py work '
                        'dir of the same mode is reused); the study goes to WORK_DIR/study')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: the toy quick stages, 2 seeds, tiny evaluation')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='post-training seeds (default 0 1 2 3 4; --quick: 0 1)')
    parser.add_argument('--pipelines', type=int, default=1,
                        help='whole pipeline runs (tokenizer and pretraining draws) to repeat '
                        'the comparison on (default 1)')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.seeds is not None and len(set(args.seeds)) < 2:
        parser.error('paired intervals need at least 2 distinct seeds')
    if args.pipelines < 1:
        parser.error(f'--pipelines must be at least 1, got {args.pipelines}')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    mode = dict(MODES['quick' if args.quick else 'full'])
    default_seeds = mode.pop('seeds')
    seeds = list(args.seeds or default_seeds)
    work_dir = Path(args.work_dir).resolve()
    study = Study(work_dir, ARMS, quick=args.quick, seeds=seeds, out_name='study',
                  grid_seeds=seeds[:1], **mode)
    settings = dict(quick=args.quick, seeds=seeds, arms=[arm.name for arm in ARMS], **mode)
    study.check_settings(settings)
    register_all_modules(init_default_scope=False)
    start = time.time()
    log(f'study in {study.out_dir(0)}; {"quick" if args.quick else "full"} mode, seeds {seeds}, '
        f'{args.pipelines} pipeline run(s)')
    done = [study.run(k) for k in range(args.pipelines)]
    per_pipeline = [compare_arms(d.runs, d.train_wall_s, TITLES, CONTROL) for d in done]
    summary = dict(settings=dict(settings, **done[0].recipe), control=CONTROL,
                   real=done[0].real, arms=per_pipeline[0])
    if args.pipelines > 1:
        summary['arms'] = compare_arms(pool_pipelines([d.runs for d in done]),
                                       pool_pipelines([d.train_wall_s for d in done]), TITLES,
                                       CONTROL)
        summary.update(pipelines=per_pipeline,
                       across_pipelines=across_pipelines(per_pipeline, summary['arms']))
    # the cost as first run, from the stages' markers (a rerun that reuses them is quick)
    summary['wall_s'] = dict(
        prestages={(f'pipeline{k}/' if k else '') + name: wall
                   for k in range(args.pipelines)
                   for name, wall in finished_wall_s(pipeline_dir(work_dir, k)).items()},
        post_training=sum(sum(v) for d in done for v in d.train_wall_s.values()),
        evaluation=sum(r['wall_s'] for d in done for runs in d.runs.values() for r in runs))
    summary['wall_s']['total'] = (sum(summary['wall_s']['prestages'].values())
                                  + summary['wall_s']['post_training']
                                  + summary['wall_s']['evaluation'])
    study_dir = study.out_dir(0)
    (study_dir / 'study.json').write_text(json.dumps(summary, indent=1))
    markdown = study_markdown(summary)
    (study_dir / 'study.md').write_text(markdown)
    plot_gaps(summary, study_dir / 'study_gaps.png')
    log(f'done in {time.time() - start:.0f} s; results in {study_dir / "study.md"}')
    print(markdown, flush=True)
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
