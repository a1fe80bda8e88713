"""Training stages of the embedded pipeline, each a ``python -m sar_mm train`` subprocess.

A stage trains one config of ``configs/toy`` into ``WORK_DIR/<name>`` with
``--resume auto``: a finished stage leaves ``finished.json`` and is skipped; an
interrupted one continues from its last checkpoint. Running the package's own
entry point keeps the toy an end-to-end test of config merging, resuming and
checkpoint trust.
"""
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from mmengine.config import Config

from sar_mm.evaluation.shapes_feature_extractor import export_shapes_classifier
from sar_mm.evaluation.training_curves import read_scalar_log
from sar_mm.registry import MODELS
from sar_mm.utils.package_files import files_root

__all__ = ['TOY_CONFIGS', 'TOY_MODES', 'PretrainedToy', 'log', 'run_training', 'extract_latents',
           'export_classifier', 'tokenizer_health', 'pipeline_dir', 'prepare_pretrained_toy']

ROOT = files_root()
TOY_CONFIGS = ROOT / 'configs' / 'toy'

#: ``--cfg-options`` per stage; the full mode runs the configs as they are, the
#: quick mode (CI smoke runs) shrinks every stage.
TOY_MODES = dict(
    full=dict(tokenizer=[], classifier=[], pretrain=[], post=[]),
    quick=dict(
        tokenizer=['train_dataloader.dataset.num_samples=640', 'train_cfg.max_epochs=2'],
        classifier=['train_dataloader.dataset.num_samples=1280', 'train_cfg.max_epochs=2'],
        pretrain=['train_dataloader.dataset.source.num_samples=640', 'train_cfg.max_epochs=2'],
        post=['train_dataloader.dataset.source.num_samples=640',
              'train_dataloader.dataset.indices=320', 'default_hooks.logger.interval=1']),
)

_START = time.time()


def log(message: str) -> None:
    """``[toy mm:ss] message``, time since the process started."""
    elapsed = int(time.time() - _START)
    print(f'[toy {elapsed // 60:02d}:{elapsed % 60:02d}] {message}', flush=True)


def _sar_mm_command(tool: str, *args: str) -> list:
    """``python -m sar_mm TOOL ARGS`` with this process's interpreter."""
    return [sys.executable, '-m', 'sar_mm', tool, *args]


def run_training(work_dir: Path, name: str, config: str, options: Sequence[str],
                 load_from: Optional[str] = None) -> str:
    """Train ``configs/toy/<config>`` into ``work_dir/<name>``, or skip it when finished.

    Returns:
        str: the stage's final checkpoint.
    """
    stage_dir = work_dir / name
    marker = stage_dir / 'finished.json'
    if marker.is_file():
        checkpoint = json.loads(marker.read_text())['checkpoint']
        log(f'{name}: finished earlier, skipped ({checkpoint})')
        return checkpoint
    stage_dir.mkdir(parents=True, exist_ok=True)
    options = list(options) + ([f'load_from={load_from}'] if load_from else [])
    # the checkpoints of this pipeline hold MMEngine's pickled training state
    trusted = [str(work_dir)] + ([load_from] if load_from else [])
    cmd = _sar_mm_command('train', str(TOY_CONFIGS / config), '--work-dir', str(stage_dir),
                          '--resume', 'auto', '--trust-checkpoint', *trusted)
    if options:
        cmd += ['--cfg-options', *options]
    log(f'{name}: training ({config}{", " + " ".join(options) if options else ""})')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(ROOT), env.get('PYTHONPATH')]))
    start = time.time()
    with open(stage_dir / 'train.log', 'a') as log_file:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log_file.write(line)
            if 'Epoch(train)' in line or 'Traceback' in line or 'Error' in line:
                log(f'{name}: {line.split(" - ")[-1].strip()[:160]}')
        returncode = proc.wait()
    if returncode != 0:
        raise SystemExit(f'{name} failed (exit {returncode}); see {stage_dir / "train.log"}')
    checkpoint = (stage_dir / 'last_checkpoint').read_text().strip()
    marker.write_text(json.dumps(dict(checkpoint=checkpoint, wall_s=time.time() - start)))
    log(f'{name}: done in {time.time() - start:.0f} s')
    return checkpoint


def extract_latents(work_dir: Path, tokenizer: str, options: Sequence[str]) -> str:
    """Cache the tokenizer's latents of the pretraining images, or reuse the file.

    Returns:
        str: the latent file.
    """
    out = work_dir / 'latents' / 'shapes_train.npz'
    marker = out.parent / 'finished.json'
    if marker.is_file():
        log(f'latents: extracted earlier, reused ({out})')
        return str(out)
    cmd = _sar_mm_command('extract_latents',
                          str(TOY_CONFIGS / 'flexvar_tiny_shapes_tf_pretrain.py'), tokenizer,
                          '--out', str(out), '--trust-checkpoint')
    if options:
        cmd += ['--cfg-options', *options]
    log('latents: encoding the training images with the frozen tokenizer')
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f'latent extraction failed (exit {result.returncode}):\n'
                         f'{result.stdout[-2000:]}{result.stderr[-2000:]}')
    marker.write_text(json.dumps(dict(latent_file=str(out), wall_s=time.time() - start)))
    log(f'latents: done in {time.time() - start:.0f} s')
    return str(out)


def export_classifier(work_dir: Path, checkpoint: str) -> str:
    """The classifier's weights as a torch-fidelity extractor file (tensors only)."""
    out = work_dir / 'classifier_tiny_shapes' / 'shapes_classifier.pth'
    if not out.is_file():
        cfg = Config.fromfile(str(TOY_CONFIGS / 'classifier_tiny_shapes.py'))
        classifier = MODELS.build(cfg.model)
        state = torch.load(checkpoint, map_location='cpu', weights_only=False)  # written here
        classifier.load_state_dict(state['state_dict'], strict=True)
        export_shapes_classifier(classifier, str(out))
    return str(out)


def tokenizer_health(stage_dir: Path) -> dict:
    """Codebook and held-out reconstruction of a finished tokenizer stage.

    Returns:
        dict: ``codebook``: the last window ``CodebookUsageHook`` logged
        (``iter``, ``usage`` in %, ``perplexity``, ``dead_codes``), and
        ``reconstruction``: ``HeldOutReconstructionHook``'s ``reconstruction.json``
        (``patch_nums``, ``num_images``, per-scale ``mse`` and ``psnr``); each
        ``None`` when the stage's config did not switch the hook on.
    """
    windows = [row for row in read_scalar_log(stage_dir) if 'codebook/usage' in row]
    codebook = None if not windows else dict(
        iter=int(windows[-1]['iter']),
        **{key: windows[-1][f'codebook/{key}'] for key in ('usage', 'perplexity', 'dead_codes')})
    rec_file = stage_dir / 'reconstruction.json'
    reconstruction = json.loads(rec_file.read_text()) if rec_file.is_file() else None
    return dict(codebook=codebook, reconstruction=reconstruction)


@dataclass(frozen=True)
class PretrainedToy:
    """What every post-training run starts from.

    Attributes:
        tokenizer (str): the tokenizer checkpoint.
        tokenizer_health (dict): its codebook and held-out reconstruction
            (:func:`tokenizer_health`).
        classifier (str): the toy FID feature extractor's weight file.
        latent_option (str): the ``--cfg-options`` entry that points the
            generator configs at the cached latents.
        pretrained (str): the teacher-forcing pretrained FlexVAR checkpoint.
        post_options (list): the mode's ``--cfg-options`` for post-training.
    """
    tokenizer: str
    tokenizer_health: dict
    classifier: str
    latent_option: str
    pretrained: str
    post_options: list

    def post_training_options(self, seed: int) -> list:
        """``--cfg-options`` of a post-training run of ``seed``: the mode's, the cached
        latents, and the data-order and scale-schedule seeds (the same for every recipe)."""
        return self.post_options + [self.latent_option, f'randomness.seed={seed}',
                                    f'model.scale_schedule.seed={seed}']


def pipeline_dir(work_dir: Path, pipeline: int) -> Path:
    """The stages of whole pipeline run ``pipeline``: ``work_dir`` itself for 0,
    ``work_dir/pipeline<k>`` for the others."""
    return work_dir / f'pipeline{pipeline}' if pipeline else work_dir


def prepare_pretrained_toy(work_dir: Path, quick: bool, pipeline: int = 0) -> PretrainedToy:
    """Stages 1-3: tokenizer, classifier, cached latents, TF pretraining (each resumable).

    Pipeline ``k > 0`` is another draw of the tokenizer and the pretraining
    (``randomness.seed=k``; the configs' seed is 0) in :func:`pipeline_dir`. The
    classifier, the FID's feature extractor, is ``work_dir``'s for every pipeline,
    so that all of them are measured alike.
    """
    train = TOY_MODES['quick' if quick else 'full']
    stages_dir = pipeline_dir(work_dir, pipeline)
    draw = [f'randomness.seed={pipeline}'] if pipeline else []
    tokenizer = run_training(stages_dir, 'vqvae_tiny_shapes', 'vqvae_tiny_shapes.py',
                             train['tokenizer'] + draw)
    classifier = export_classifier(work_dir, run_training(
        work_dir, 'classifier_tiny_shapes', 'classifier_tiny_shapes.py', train['classifier']))
    source = [o for o in train['pretrain'] if o.startswith('train_dataloader.dataset.source.')]
    latent_option = ('train_dataloader.dataset.latent_file='
                     + extract_latents(stages_dir, tokenizer, source))
    pretrained = run_training(stages_dir, 'flexvar_tiny_shapes_tf_pretrain',
                              'flexvar_tiny_shapes_tf_pretrain.py',
                              train['pretrain'] + [latent_option] + draw, tokenizer)
    health = tokenizer_health(stages_dir / 'vqvae_tiny_shapes')
    codebook, reconstruction = health['codebook'], health['reconstruction']
    if codebook is not None and reconstruction is not None:
        log(f'tokenizer: codebook usage {codebook["usage"]:.1f} % at iteration '
            f'{codebook["iter"]}, held-out PSNR {reconstruction["psnr"][-1]:.2f} dB')
    return PretrainedToy(tokenizer=tokenizer, tokenizer_health=health, classifier=classifier,
                         latent_option=latent_option, pretrained=pretrained,
                         post_options=list(train['post']))
