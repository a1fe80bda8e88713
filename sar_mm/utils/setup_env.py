"""One call that prepares a process to build sar_mm configs."""
import datetime
import warnings

from mmengine.registry import DefaultScope

from .checkpoint_io import register_checkpoint_loader

__all__ = ['register_all_modules']


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every sar_mm subpackage (registering all components) and set up I/O.

    Also installs the checkpoint loader of ``sar_mm.utils.checkpoint_io``
    (``weights_only=False`` only for trusted paths), which MMEngine 0.10.7
    needs on torch >= 2.6 to resume its own checkpoints.

    Args:
        init_default_scope (bool): make ``sar_mm`` the current default scope,
            so registries resolve ``type`` names inside sar_mm first.
    """
    import sar_mm.datasets  # noqa: F401
    import sar_mm.engine  # noqa: F401
    import sar_mm.evaluation  # noqa: F401
    import sar_mm.models  # noqa: F401
    register_checkpoint_loader()
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('sar_mm'):
        DefaultScope.get_instance('sar_mm', scope_name='sar_mm')
    elif current.scope_name != 'sar_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "sar_mm"; '
                      '`register_all_modules` creates a new default scope named "sar_mm-<time>".')
        DefaultScope.get_instance(f'sar_mm-{datetime.datetime.now()}', scope_name='sar_mm')
