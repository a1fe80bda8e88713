"""The toy driver: post-training arms x seeds on whole pipeline runs of the embedded toy.

Serves ``tools/run_toy.py`` (two arms, with editing) and
``tools/analysis_tools/sar_study.py`` (seven arms, one or more pipelines). For
seed ``s`` every arm starts from the same pretrained checkpoint with the same
data order, scale schedules and rollout seed, and is evaluated with the same
sampling seeds and held-out images, so arms of one seed pair up
(:mod:`sar_mm.toy.arm_comparison`).
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from sar_mm.evaluation.training_curves import read_scalar_log
from .stages import TOY_CONFIGS, log, pipeline_dir, prepare_pretrained_toy, run_training
from .toy_editing import evaluate_editing
from .toy_evaluation import (EXPOSURE_SEED, NUM_CLASSES, evaluate_model, evaluate_real,
                             real_images, toy_metric)

__all__ = ['Arm', 'SAR_CONFIG', 'PRETRAINED', 'PipelineRuns', 'Study', 'finished_wall_s']

SAR_CONFIG = 'flexvar_tiny_shapes_sar.py'


@dataclass(frozen=True)
class Arm:
    """One post-training recipe: a toy config and its ``--cfg-options``.

    Its run of seed ``s`` trains into ``<stage or name>_seed<s>`` and is
    evaluated as ``<name>_seed<s>``.
    """
    name: str
    title: str
    config: str
    options: Tuple[str, ...] = ()
    stage: str = ''

    def stage_name(self, seed: int) -> str:
        return f'{self.stage or self.name}_seed{seed}'


#: The starting point of every arm, evaluated alongside them.
PRETRAINED = Arm('pretrained', 'pretrained (no post-training)',
                 'flexvar_tiny_shapes_tf_pretrain.py')


def finished_wall_s(directory: Path) -> Dict[str, float]:
    """Training seconds of every finished stage in ``directory`` (its ``*/finished.json``)."""
    return {path.parent.name: json.loads(path.read_text())['wall_s']
            for path in sorted(directory.glob('*/finished.json'))}


@dataclass(frozen=True)
class PipelineRuns:
    """The evaluations of one pipeline run.

    Attributes:
        runs (dict): ``'pretrained'`` and every arm name -> one
            :func:`~sar_mm.toy.evaluate_model` result per seed (with ``editing``
            from :func:`~sar_mm.toy.evaluate_editing` when the study edits).
        real (dict): scores of held-out real images.
        recipe (dict): ``post_iters`` (read from the first arm's log),
            ``batch_size`` and ``sar`` (the SAR rollout and loss).
        train_wall_s (dict): arm name -> post-training seconds per seed.
        tokenizer_health (dict): the pipeline's tokenizer codebook and held-out
            reconstruction (:func:`~sar_mm.toy.stages.tokenizer_health`).
    """
    runs: Dict[str, List[dict]]
    real: dict
    recipe: dict
    train_wall_s: Dict[str, List[float]]
    tokenizer_health: dict


class Study:
    """Arms x seeds on whole pipeline runs of the toy.

    Args:
        work_dir (Path): the toy's stages; pipeline ``k`` trains its tokenizer and
            pretraining in :func:`~sar_mm.toy.pipeline_dir`.
        arms (sequence of Arm): the post-training recipes, the control first.
        quick (bool): the quick stages (:data:`~sar_mm.toy.TOY_MODES`).
        seeds (sequence of int): post-training and sampling seeds.
        samples_per_class, reference_images, exposure_images (int): evaluation
            sizes (:func:`~sar_mm.toy.evaluate_model`).
        edit_images (int): held-out images of the editing evaluation; 0: none.
        out_name (str): pipeline ``k``'s arms go to ``pipeline_dir(k)/out_name``.
        grid_seeds (sequence of int, optional): the seeds whose models write
            sample grids; all when None.
    """

    def __init__(self, work_dir: Path, arms: Sequence[Arm], *, quick: bool, seeds: Sequence[int],
                 samples_per_class: int, reference_images: int, exposure_images: int,
                 edit_images: int = 0, out_name: str = '',
                 grid_seeds: Optional[Sequence[int]] = None) -> None:
        self.work_dir, self.arms, self.quick, self.seeds = work_dir, tuple(arms), quick, list(seeds)
        self.samples_per_class, self.reference_images = samples_per_class, reference_images
        self.exposure_images, self.edit_images = exposure_images, edit_images
        self.out_name, self.grid_seeds = out_name, grid_seeds

    def out_dir(self, pipeline: int) -> Path:
        return pipeline_dir(self.work_dir, pipeline) / self.out_name

    def check_settings(self, settings: dict) -> None:
        """Refuse stages trained in the other mode and an output folder of other settings;
        then record ``settings`` there. Raises ``SystemExit`` with the reason."""
        toy_settings = self.work_dir / 'settings.json'
        if toy_settings.is_file():
            quick = json.loads(toy_settings.read_text()).get('quick')
            if quick != self.quick:
                raise SystemExit(f'{self.work_dir} holds a {"--quick " if quick else ""}toy run '
                                 f'and this run is {"" if self.quick else "not "}--quick; '
                                 'use another --work-dir')
        recorded = self.out_dir(0) / 'settings.json'
        if recorded.is_file() and json.loads(recorded.read_text()) != settings:
            raise SystemExit(f'{recorded.parent} holds a run with other settings '
                             f'({recorded.read_text()}); use another --work-dir')
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.write_text(json.dumps(settings))

    def run(self, pipeline: int = 0) -> PipelineRuns:
        """Train (or reuse) pipeline ``pipeline``'s stages and arms, and evaluate every model."""
        if pipeline:
            log(f'pipeline run {pipeline} in {pipeline_dir(self.work_dir, pipeline)}')
        toy = prepare_pretrained_toy(self.work_dir, self.quick, pipeline)
        out = self.out_dir(pipeline)
        checkpoints = {}
        for s in self.seeds:
            common = toy.post_training_options(s)
            for arm in self.arms:
                rollout_seed = [f'model.rollout.seed={s}'] if arm.config == SAR_CONFIG else []
                checkpoints[(arm.name, s)] = run_training(
                    out, arm.stage_name(s), arm.config, common + rollout_seed + list(arm.options),
                    toy.pretrained)

        log('evaluation' + (f' of pipeline {pipeline}' if pipeline else ''))
        torch.manual_seed(0)
        metric = toy_metric(out, toy.classifier, self.reference_images)
        exposure = real_images(EXPOSURE_SEED, self.exposure_images)
        real = evaluate_real(out, metric, NUM_CLASSES * self.samples_per_class)
        runs = {arm.name: [] for arm in (PRETRAINED, ) + self.arms}
        for s in self.seeds:
            grids = self.grid_seeds is None or s in self.grid_seeds
            models = [(PRETRAINED, toy.pretrained)]
            models += [(arm, checkpoints[(arm.name, s)]) for arm in self.arms]
            for arm, checkpoint in models:
                run = f'{arm.name}_seed{s}'
                result = evaluate_model(out, run, arm.config, checkpoint, s, metric, exposure,
                                        self.samples_per_class, grids=grids)
                if self.edit_images:
                    result['editing'] = evaluate_editing(out, run, arm.config, checkpoint, s,
                                                         metric, self.edit_images)
                runs[arm.name].append(result)
        wall = finished_wall_s(out)
        train_wall_s = {arm.name: [wall[arm.stage_name(s)] for s in self.seeds]
                        for arm in self.arms}
        return PipelineRuns(runs=runs, real=real, recipe=self._recipe(out),
                            train_wall_s=train_wall_s, tokenizer_health=toy.tokenizer_health)

    def _recipe(self, out: Path) -> dict:
        sar_cfg = Config.fromfile(str(TOY_CONFIGS / SAR_CONFIG))
        rollout = {k: v for k, v in sar_cfg.model.rollout.items() if k not in ('type', 'seed')}
        log_rows = read_scalar_log(out / self.arms[0].stage_name(self.seeds[0]))
        return dict(
            post_iters=max(row['iter'] for row in log_rows),
            batch_size=sar_cfg.train_dataloader.batch_size,
            sar=f'{sar_cfg.model.rollout.type}({", ".join(f"{k}={v}" for k, v in rollout.items())})'
            f' + {sar_cfg.model.loss.type}(sigma={sar_cfg.model.loss.sigma})')
