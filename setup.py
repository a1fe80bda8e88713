"""sar_mm: scale-wise autoregressive generation and Self-Autoregressive Refinement."""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
MIM_FOLDERS = ('configs', 'tools', 'demo')


def read_version_file() -> dict:
    """``__version__``, ``MMCV_MIN`` and ``MMCV_MAX`` of sar_mm/version.py, without importing it."""
    namespace: dict = {}
    exec((ROOT / 'sar_mm' / 'version.py').read_text(encoding='utf-8'), namespace)
    return namespace


class BuildPyWithMim(build_py):
    """``build_py`` that also copies configs/, tools/ and demo/ into ``sar_mm/.mim/``.

    This is OpenMMLab's ``.mim`` layout, written only into the build folder of a
    wheel (non-editable install): ``python -m sar_mm`` finds the copies there.
    Editable installs use the checkout's own folders.
    """

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in MIM_FOLDERS:
            target = Path(self.build_lib) / 'sar_mm' / '.mim' / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


VERSION = read_version_file()

setup(
    name='sar_mm',
    version=VERSION['__version__'],
    description=('Scale-wise autoregressive image generation (VAR, FlexVAR) and SAR '
                 'post-training on MMEngine'),
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=('sar_mm', 'sar_mm.*')),
    cmdclass={'build_py': BuildPyWithMim},
    python_requires='>=3.10',
    # Ranges: each lower bound is the oldest release with every API sar_mm uses
    # (requirements/pinned.txt holds the exact tested stack).
    # - mmcv is not listed: a full mmcv and mmcv-lite provide the same `import mmcv`
    #   and neither may be installed over the other; sar_mm/version.py checks it at
    #   import, the `lite` extra installs mmcv-lite into a fresh environment.
    # - opencv-python is not listed: sar_mm never imports it (it comes with mmengine
    #   and mmcv).
    # - setuptools (pkg_resources) is not listed: mmengine imports pkg_resources only
    #   in mmengine.utils.package_utils, reached by Config.fromfile for `pkg::` scoped
    #   _base_ files or read_base() imports from another package, and by mmengine.hub;
    #   sar_mm, its configs and tools use none of them (the toy pipeline and every
    #   config load with pkg_resources blocked). torch requires setuptools anyway.
    install_requires=[
        # get_total_norm 2.6, get_autocast_dtype(device) 2.4, amp.GradScaler(device) 2.3
        'torch>=2.6',
        'torchvision>=0.21',  # the release built for torch 2.6 (utils.make_grid)
        # tools/run_toy.py --quick (train, load_from, latents, evaluation) passes on
        # 0.10.0 with mmcv-lite 2.0.0; the loop/hook/optim-wrapper subclasses follow 0.10
        'mmengine>=0.10.0,<1.0',
        'torch-fidelity>=0.4,<0.5',  # metric_prc and the CLIP/DINOv2 extractors: 0.4.0
        # rearrange / repeat of token maps to sequences and of the CFG pair; the
        # floor is the tested series, not checked lower
        'einops>=0.8',
        # numpy/Pillow/matplotlib: the APIs used are older (default_rng 1.17,
        # ImageOps.exif_transpose 6.0, Figure + FigureCanvasAgg); these are the first
        # releases with Python 3.10 wheels (torchvision excludes Pillow 8.3.*)
        'numpy>=1.21.2',
        'Pillow>=8.4',
        'matplotlib>=3.5',
        # TensorboardVisBackend of configs/_base_/default_runtime.py; floor kept from
        # the earlier pins, not checked lower
        'tensorboard>=2.14',
    ],
    extras_require={
        'lite': [f'mmcv-lite>={VERSION["MMCV_MIN"]},<{VERSION["MMCV_MAX"]}'],
        'test': ['pytest>=8'],
    },
)
