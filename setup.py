"""sar_mm: scale-wise autoregressive generation and Self-Autoregressive Refinement."""
from setuptools import find_packages, setup

setup(
    name='sar_mm',
    version='0.1.0',
    description='Scale-wise autoregressive image generation (VAR, FlexVAR) and SAR post-training on MMEngine',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'demo')),
    python_requires='>=3.10',
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        'mmcv-lite==2.2.0',
        'einops>=0.8',
        'torch-fidelity==0.4.0',
        'opencv-python>=4.8',
        'tensorboard>=2.14',
        'matplotlib>=3.7',
        'setuptools>=77.0.3,<81',
    ],
    extras_require={'test': ['pytest>=8']},
)
