"""The embedded pipeline on synthetic shapes: its training stages, its evaluation, its
zero-shot image-to-image showcase and the driver of arms x seeds x pipeline runs.

:class:`Study` serves ``tools/run_toy.py`` (the README's main job) and
``tools/analysis_tools/sar_study.py`` (the exposure-bias study), which start from
the same tokenizer, classifier and pretrained FlexVAR.
"""
from .stages import (TOY_CONFIGS, TOY_MODES, PretrainedToy, export_classifier, extract_latents,
                     log, pipeline_dir, prepare_pretrained_toy, run_training)
from .study import PRETRAINED, SAR_CONFIG, Arm, PipelineRuns, Study, finished_wall_s
from .toy_editing import evaluate_editing
from .toy_evaluation import (NUM_CLASSES, evaluate_model, evaluate_real, real_images,
                             score_images, toy_metric)

__all__ = ['TOY_CONFIGS', 'TOY_MODES', 'PretrainedToy', 'export_classifier', 'extract_latents',
           'log', 'pipeline_dir', 'prepare_pretrained_toy', 'run_training', 'PRETRAINED',
           'SAR_CONFIG', 'Arm', 'PipelineRuns', 'Study', 'finished_wall_s', 'NUM_CLASSES',
           'evaluate_editing', 'evaluate_model', 'evaluate_real', 'real_images', 'score_images',
           'toy_metric']
