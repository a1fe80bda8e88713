"""Clear errors for configs that name what does not exist, before anything is built.

- a ``type`` that no registry holds. MMEngine answers ``KeyError: 'Foo is not
  in the sar_mm::backbone registry'``; :func:`~sar_mm.utils.registry_build.build_from_cfg_listing_names`
  (the ``build_func`` of sar_mm's registries) and :func:`check_runner_config`
  say which names are registered and which one was probably meant;
- a misspelt top-level key (``trian_cfg``), which the Runner would silently
  ignore: :func:`check_runner_config` refuses keys that look like one of the
  Runner's arguments without being one.
"""
import difflib
import inspect
from typing import Any, Iterator, List, Optional, Tuple

from sar_mm import registry as sar_mm_registry
from .component_arguments import check_component_arguments
from .registry_build import unknown_type_message

__all__ = ['check_runner_config', 'check_cfg_options']

#: keys the builders of these registries take out of a config before calling the class
_BUILDER_KEYS = {'OPTIM_WRAPPERS': ('constructor', 'paramwise_cfg'),
                 'PARAM_SCHEDULERS': ('convert_to_iter_based', )}


def _runner_arguments() -> List[str]:
    from mmengine.runner import Runner
    return [name for name in inspect.signature(Runner.__init__).parameters if name != 'self']


def _typed(value: Any, path: str) -> Iterator[Tuple[str, Any]]:
    """``(path, cfg)`` for a component config or each of a list of them."""
    if isinstance(value, dict) and isinstance(value.get('type'), str):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _typed(item, f'{path}[{i}]')


def _dataset_components(dataset: Any, path: str) -> Iterator[Tuple[str, Any, str]]:
    if not isinstance(dataset, dict):
        return
    for where, cfg in _typed(dataset, path):
        yield where, cfg, 'DATASETS'
    for key in ('dataset', 'datasets'):  # dataset wrappers
        inner = dataset.get(key)
        for i, item in enumerate(inner if isinstance(inner, (list, tuple)) else [inner]):
            yield from _dataset_components(item, f'{path}.{key}' + (
                f'[{i}]' if isinstance(inner, (list, tuple)) else ''))
    for where, cfg in _typed(dataset.get('pipeline'), f'{path}.pipeline'):
        yield where, cfg, 'TRANSFORMS'


def _runner_components(cfg: Any) -> Iterator[Tuple[str, Any, str]]:
    """``(key path, component cfg, registry name)`` of what the Runner builds, and the
    children of the generator (tokenizer, backbone, rollout, loss, ...)."""
    simple = (('model', 'MODELS'), ('model.tokenizer', 'TOKENIZERS'),
              ('model.backbone', 'BACKBONES'), ('model.rollout', 'ROLLOUTS'),
              ('model.loss', 'LOSSES'), ('model.scale_schedule', 'TASK_UTILS'),
              ('model.data_preprocessor', 'MODELS'), ('optim_wrapper', 'OPTIM_WRAPPERS'),
              ('optim_wrapper.optimizer', 'OPTIMIZERS'), ('param_scheduler', 'PARAM_SCHEDULERS'),
              ('custom_hooks', 'HOOKS'), ('visualizer', 'VISUALIZERS'),
              ('visualizer.vis_backends', 'VISBACKENDS'), ('log_processor', 'LOG_PROCESSORS'),
              ('train_cfg', 'LOOPS'), ('val_cfg', 'LOOPS'), ('test_cfg', 'LOOPS'),
              ('val_evaluator', 'METRICS'), ('test_evaluator', 'METRICS'))
    for path, registry in simple:
        value: Any = cfg
        for key in path.split('.'):
            value = value.get(key) if isinstance(value, dict) else None
        for where, component in _typed(value, path):
            yield where, component, registry
    for name, hook in (cfg.get('default_hooks') or {}).items():
        for where, component in _typed(hook, f'default_hooks.{name}'):
            yield where, component, 'HOOKS'
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, dict):
            yield from _dataset_components(loader.get('dataset'), f'{split}_dataloader.dataset')
            for where, component in _typed(loader.get('sampler'), f'{split}_dataloader.sampler'):
                yield where, component, 'DATA_SAMPLERS'


def _untyped_loops(cfg: Any) -> Iterator[Tuple[str, dict, Any, Tuple[str, ...]]]:
    """``(key path, cfg, class, extra keys)`` of the loops and the log processor that the
    Runner builds without a ``type`` (``train_cfg=dict(by_epoch=True, max_epochs=3)``)."""
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, LogProcessor, TestLoop,
                                 ValLoop)
    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict) and 'type' not in train_cfg:
        loop = EpochBasedTrainLoop if train_cfg.get('by_epoch', True) else IterBasedTrainLoop
        yield 'train_cfg', train_cfg, loop, ('by_epoch', )
    for key, loop in (('val_cfg', ValLoop), ('test_cfg', TestLoop),
                      ('log_processor', LogProcessor)):
        value = cfg.get(key)
        if isinstance(value, dict) and 'type' not in value:
            yield key, value, loop, ()


def check_runner_config(cfg: Any) -> None:
    """Refuse a training / testing config with a misspelt top-level key, an unknown type or
    an argument its component does not take.

    Checks the ``type`` of every component the MMEngine Runner builds (model,
    datasets, transforms, samplers, hooks, loops, metrics, optimizer and its
    wrapper, schedulers, visualizer) and of the generator's children
    (tokenizer, backbone, rollout, loss, scale schedule, data preprocessor),
    before anything is built or written. Top-level keys that are not Runner
    arguments are allowed (configs keep helper variables there) unless they look
    like a misspelt Runner argument.

    Args:
        cfg (Config | dict): the merged config; ``sar_mm`` modules registered.

    The keyword arguments of each of them (and of the loops and log processor
    built without a ``type``) are checked against its class's signature
    (:func:`~sar_mm.utils.component_arguments.check_component_arguments`).

    Raises:
        KeyError: naming the key path, the unknown name (type or argument), the
            closest registered names or arguments and every one of them.
        ValueError: an argument annotated ``int`` / ``float`` / ``bool`` / ``str``
            with a value of another type.
    """
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)  # Config is no dict
    arguments = _runner_arguments()
    for key in cfg:
        if key in arguments:
            continue
        close = difflib.get_close_matches(key, arguments, n=1, cutoff=0.85)
        if close:
            raise KeyError(f'unknown top-level config key {key!r}: did you mean {close[0]!r}? '
                           f'(the Runner would ignore it)')
    hooks = cfg.get('default_hooks') or {}
    for name, hook in hooks.items():
        if isinstance(hook, dict) and 'type' not in hook:  # ``default_hooks.chekpoint.x=1``
            typed = [other for other, value in hooks.items() if isinstance(value, dict)
                     and 'type' in value]
            close = difflib.get_close_matches(name, typed, n=1, cutoff=0.6)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise KeyError(f'default_hooks.{name} has no type, so it is no hook of the '
                           f'config.{hint} Hooks: {", ".join(typed)}')
    for where, component, registry_name in _runner_components(cfg):
        registry = getattr(sar_mm_registry, registry_name)
        scope_name = component.get('_scope_')
        obj_type = component['type']
        if registry_name == 'METRICS' and obj_type == 'Evaluator':
            registry = sar_mm_registry.EVALUATOR
        lookup = obj_type if scope_name is None else f'{scope_name}.{obj_type}'
        obj = registry.get(lookup)
        if obj is None:
            raise KeyError(unknown_type_message(obj_type, registry, where))
        check_component_arguments(component, obj, where, _BUILDER_KEYS.get(registry_name, ()))
    for where, component, loop, extra_keys in _untyped_loops(cfg):
        check_component_arguments(component, loop, where, extra_keys)


def check_cfg_options(cfg: Any, options: Optional[dict], for_runner: bool = True) -> None:
    """Refuse ``--cfg-options`` whose first key names nothing.

    Deeper keys are left to :func:`check_runner_config` (arguments of
    components) and to the components themselves (e.g. ``model.test_cfg``).

    Args:
        cfg (Config | dict): the config before the options are merged.
        options (dict, optional): ``{'key.path': value}`` as parsed by ``DictAction``.
        for_runner (bool): the config is a Runner's, whose arguments are keys too
            (``load_from=...`` may be added).

    Raises:
        KeyError: naming the option, and the closest key of the config.
    """
    known = set(cfg.keys()) | (set(_runner_arguments()) if for_runner else set())
    for key in options or {}:
        top = key.split('.', 1)[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=1, cutoff=0.6)
        hint = f'; did you mean {close[0]!r}?' if close else ''
        raise KeyError(f'--cfg-options {key}: the config has no key {top!r}{hint} (an unknown '
                       'key would be ignored)')
