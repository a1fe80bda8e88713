"""Registry builds whose unknown-type error lists what is registered.

MMEngine answers an unknown ``type`` with ``KeyError: 'Foo is not in the
sar_mm::backbone registry'``. :func:`build_from_cfg_listing_names`, the
``build_func`` of sar_mm's registries, names the registered names and the one
that was probably meant. It imports nothing of sar_mm, so ``sar_mm.registry``
can use it.
"""
import difflib
from typing import Any, List, Optional

from mmengine.registry import Registry, build_from_cfg

__all__ = ['registered_names', 'unknown_type_message', 'build_from_cfg_listing_names']


def registered_names(registry: Registry) -> List[str]:
    """Every name ``registry.get`` resolves without a scope: its own and its ancestors'."""
    registry.import_from_location()
    names = set()
    node: Optional[Registry] = registry
    while node is not None:
        names.update(node.module_dict)
        node = node.parent
    return sorted(names)


def unknown_type_message(obj_type: str, registry: Registry, where: str = '') -> str:
    """``obj_type`` is not registered: the closest names, then all of them."""
    names = registered_names(registry)
    close = difflib.get_close_matches(obj_type.rsplit('.', 1)[-1], names, n=3, cutoff=0.6)
    hint = f' Did you mean {" or ".join(repr(n) for n in close)}?' if close else ''
    location = f' ({where})' if where else ''
    return (f'type {obj_type!r}{location} is not registered in {registry.scope}::'
            f'{registry.name}.{hint} Registered names: {", ".join(names)}')


def build_from_cfg_listing_names(cfg: Any, registry: Registry,
                                 default_args: Optional[dict] = None) -> Any:
    """``mmengine.registry.build_from_cfg`` whose unknown-type error lists the registered names.

    Only a ``type`` that the registry cannot resolve changes the error; a
    ``KeyError`` raised while building a registered component passes unchanged.
    """
    try:
        return build_from_cfg(cfg, registry, default_args)
    except KeyError as error:
        obj_type = cfg.get('type') if hasattr(cfg, 'get') else None
        if isinstance(obj_type, str) and registry.get(obj_type) is None:
            raise KeyError(unknown_type_message(obj_type, registry)) from error
        raise
