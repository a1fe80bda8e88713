"""Build engine components inside the ``sar_mm`` scope."""
import pytest
from mmengine.registry import init_default_scope

import sar_mm.engine  # noqa: F401  (registers the optimizer wrappers, constructors, hooks)


@pytest.fixture(autouse=True)
def sar_mm_scope() -> None:
    init_default_scope('sar_mm')
