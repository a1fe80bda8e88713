"""Build transforms and datasets inside the ``sar_mm`` scope."""
import pytest
from mmengine.registry import init_default_scope

import sar_mm.datasets  # noqa: F401  (registers the datasets and transforms)


@pytest.fixture(autouse=True)
def sar_mm_scope() -> None:
    init_default_scope('sar_mm')
