"""The sar_mm version and the import-time check of the mmcv it runs with.

``mmcv`` is not an install requirement (the OpenMMLab way): a full ``mmcv`` and
the pure-Python ``mmcv-lite`` provide the same ``import mmcv``, and requiring
either would install it over the other. sar_mm uses only pure-Python parts
(``mmcv.transforms``, ``mmcv.image``), so either works; ``pip install
'sar_mm[lite]'`` brings ``mmcv-lite`` into a fresh environment.
"""
__version__ = '0.1.0'

MMCV_MIN = '2.0'  # mmcv.transforms.BaseTransform first appears in mmcv 2.0
MMCV_MAX = '3.0'  # exclusive: a new major version may change those APIs


def check_mmcv() -> None:
    """Raise a clear ImportError unless mmcv (full or lite) in [MMCV_MIN, MMCV_MAX) imports."""
    try:
        import mmcv
    except ModuleNotFoundError as err:
        if err.name != 'mmcv':  # mmcv is there but one of its own imports fails
            raise
        raise ImportError(
            f'sar_mm needs mmcv: install mmcv>={MMCV_MIN} or mmcv-lite>={MMCV_MIN} (pure Python; '
            f"sar_mm needs no compiled ops), e.g. pip install 'mmcv-lite>={MMCV_MIN},<{MMCV_MAX}'"
        ) from err
    from mmengine.utils import digit_version
    if not digit_version(MMCV_MIN) <= digit_version(mmcv.__version__) < digit_version(MMCV_MAX):
        raise ImportError(
            f'mmcv {mmcv.__version__} is installed, but sar_mm needs mmcv>={MMCV_MIN},<{MMCV_MAX} '
            f'(a full mmcv or the pure-Python mmcv-lite)')
