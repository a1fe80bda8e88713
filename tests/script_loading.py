"""Load a script of ``tools/`` or ``demo/`` (not a package) as a module, to call its functions."""
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Union


def load_script(path: Union[str, Path], name: str) -> ModuleType:
    """Execute the file at ``path`` as a fresh module called ``name`` and return it."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
