"""The keyword arguments of a component config, checked against its class's signature.

A registry builds ``cls(**cfg)``. A misspelt argument then fails at build time
(``TypeError: got an unexpected keyword argument``), or, for a class that
takes ``**kwargs`` and uses them later, not at all until they are used: MMEngine's
``CheckpointHook`` hands them to ``Runner.save_checkpoint`` at the first save,
after a whole epoch. :func:`check_component_arguments` refuses both before
anything is built, with the closest argument name, and checks the values of
arguments annotated ``int``, ``float``, ``bool`` or ``str`` (``depth='abc'``).
"""
import difflib
import inspect
import typing
from typing import Any, Callable, Dict, Iterable, Optional

from torch import nn

__all__ = ['accepted_arguments', 'check_component_arguments']

#: classes that keep ``**kwargs`` for a call that takes nothing beyond what they pass
#: themselves (``CheckpointHook``: ``Runner.save_checkpoint(..., **self.args)``)
KWARGS_TAKE_NOTHING = ('CheckpointHook', )

#: keys a config may hold that are not arguments (the registry's and MMEngine's own)
CONFIG_KEYS = ('type', '_scope_')

_SIMPLE_TYPES = {int: 'a whole number', float: 'a number', bool: 'True or False',
                 str: 'a string'}


def _named_parameters(func: Callable) -> Optional[Dict[str, inspect.Parameter]]:
    """Parameters that a keyword can fill, and ``'**'`` if it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    named = {name: p for name, p in parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != 'self'}
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        named['**'] = None
    return named


def accepted_arguments(obj: Any) -> Optional[Dict[str, inspect.Parameter]]:
    """The keyword arguments ``obj(**cfg)`` accepts, by name.

    ``**kwargs`` passed on to a base class are followed up the MRO, down to
    ``nn.Module`` (which takes none). Returns ``None`` when the arguments cannot
    be known (``**kwargs`` that go elsewhere, or no signature).
    """
    if not isinstance(obj, type):
        named = _named_parameters(obj)
        return None if named is None or '**' in named else named
    accepted: Dict[str, inspect.Parameter] = {}
    for klass in obj.__mro__:
        if klass is nn.Module:
            return accepted
        if klass is object or '__init__' not in vars(klass):
            continue
        named = _named_parameters(klass.__init__)
        if named is None:
            return None
        takes_more = named.pop('**', False) is None
        for name, parameter in named.items():
            accepted.setdefault(name, parameter)
        if not takes_more or klass.__name__ in KWARGS_TAKE_NOTHING:
            return accepted
    return None


def _simple_type(annotation: Any) -> Optional[type]:
    """``int`` for ``int`` / ``Optional[int]`` / ``'int'`` (likewise float, bool, str)."""
    if isinstance(annotation, str):
        annotation = {t.__name__: t for t in _SIMPLE_TYPES}.get(annotation.strip())
    if typing.get_origin(annotation) is typing.Union:
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else None
    return annotation if annotation in _SIMPLE_TYPES else None


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_component_arguments(component: dict, obj: Any, where: str,
                              extra_keys: Iterable[str] = ()) -> None:
    """Refuse a component config whose keys ``obj`` does not take, or whose simple values
    have the wrong type.

    Args:
        component (dict): the config, ``type`` included.
        obj (type | callable): what the registry resolves ``type`` to.
        where (str): the key path of the component, for the message
            (``default_hooks.checkpoint``).
        extra_keys: keys the builder takes out before calling ``obj``
            (``paramwise_cfg`` of an optimizer wrapper).

    Raises:
        KeyError: an argument ``obj`` does not take, naming the closest one and
            all of them.
        ValueError: a value that is not of the annotated ``int`` / ``float`` /
            ``bool`` / ``str`` (``None`` where the annotation is ``Optional``).
    """
    accepted = accepted_arguments(obj)
    if accepted is None:
        return
    name = getattr(obj, '__name__', str(obj))
    for key, value in component.items():
        if key in CONFIG_KEYS or key in extra_keys:
            continue
        if key not in accepted:
            close = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.6)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise KeyError(f'{where}.{key}: {name} takes no argument {key!r}.{hint} Its '
                           f'arguments: {", ".join(accepted) or "none"}')
        parameter = accepted[key]
        kind = _simple_type(parameter.annotation)
        if kind is None or value is None and parameter.default is None or _fits(value, kind):
            continue
        if value is None and typing.get_origin(parameter.annotation) is typing.Union:
            continue
        raise ValueError(f'{where}.{key} of {name} must be {_SIMPLE_TYPES[kind]}, got {value!r}')
