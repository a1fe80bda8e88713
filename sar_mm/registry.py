"""Registries of sar_mm.

The four swappable component kinds of a scale-wise autoregressive generator have
their own registries (``TOKENIZERS``, ``BACKBONES``, ``ROLLOUTS``, ``LOSSES``).
Everything the MMEngine Runner builds lives in children of mmengine's root
registries with scope ``sar_mm``, so configs with ``default_scope='sar_mm'``
build without "Failed to search registry" warnings.

The registries the generator builds its children from (the four kinds,
``TASK_UTILS``, ``MODELS``) answer an unknown ``type`` with the registered names.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

from sar_mm.utils.registry_build import build_from_cfg_listing_names

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'FUNCTIONS',
    'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'INFERENCERS',
    'TOKENIZERS', 'BACKBONES', 'ROLLOUTS', 'LOSSES'
]

# Runner machinery (mostly empty children; they exist so that ``default_scope``
# resolves every lookup inside ``sar_mm`` first).
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['sar_mm.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, locations=['sar_mm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['sar_mm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['sar_mm.engine'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['sar_mm.engine'])
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['sar_mm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['sar_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['sar_mm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['sar_mm.engine'])

# Data.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['sar_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['sar_mm.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['sar_mm.datasets'])

# Models.
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['sar_mm.models'],
                  build_func=build_from_cfg_listing_names)
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['sar_mm.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=['sar_mm.models'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=['sar_mm.models'],
                      build_func=build_from_cfg_listing_names)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['sar_mm.models'])

# The four swappable component kinds of a scale-wise AR generator.
TOKENIZERS = Registry('tokenizer', locations=['sar_mm.models.tokenizers'],
                      build_func=build_from_cfg_listing_names)
BACKBONES = Registry('backbone', locations=['sar_mm.models.backbones'],
                     build_func=build_from_cfg_listing_names)
ROLLOUTS = Registry('rollout', locations=['sar_mm.models.rollouts'],
                    build_func=build_from_cfg_listing_names)
LOSSES = Registry('loss', locations=['sar_mm.models.losses'],
                  build_func=build_from_cfg_listing_names)

# Evaluation and visualisation.
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['sar_mm.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['sar_mm.evaluation'])
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['sar_mm.engine'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=['sar_mm.engine'])
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS, locations=['sar_mm.apis'])
