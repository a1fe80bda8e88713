"""The one generator class of sar_mm: VAR, FlexVAR and SAR differ only by config."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel

from sar_mm.registry import BACKBONES, LOSSES, MODELS, ROLLOUTS, TASK_UTILS, TOKENIZERS
from sar_mm.utils.precision import allow_tf32, log_precision_once, resolve_precision
from ..data_preprocessors import build_data_preprocessor
from ..rollouts.base_rollout import teacher_forced_inputs
from ..utils.ar_generation import autoregressive_generate
from ..utils.known_tokens import KnownTokens, regenerate_per_scale
from ..utils.sampling_config import SamplingConfig, SamplingNumerics, split_test_cfg
from ..utils.scale_layout import RolloutOutput

__all__ = [
    'ScaleWiseAR', 'to_uint8_images', 'EVAL_PROTOCOLS', 'EDIT_PROTOCOLS', 'check_class_labels',
    'protocol_test_cfg'
]

#: ``test_cfg`` values of the two FID sampling protocols on CUDA
#: (docs/evaluation_protocols.md): sar_mm's exact per-seed sampling, and the
#: official ``eval_c2i.py`` of GengzeZhou/SAR (fp16 autocast, TF32, batched,
#: logits kept in the autocast dtype through guidance and top-k / top-p).
EVAL_PROTOCOLS = dict(
    exact=dict(precision='fp32', tf32=False, batch_invariant=True, float32_logits=True),
    official=dict(precision='fp16', tf32=True, batch_invariant=False, float32_logits=False),
)


#: Zero-shot editing protocols (docs/method.md §5.4), by the mask rule of
#: :func:`~sar_mm.models.utils.known_tokens.regenerate_per_scale` they use.
#: ``'coherent'``: any masked pixel regenerates a token, and the tokenizer says
#: how the kept tokens are computed (VAR: during sampling, from the residual of
#: the tokens used). ``'var_notebook'``: VAR's ``demo_zero_shot_edit.ipynb``,
#: the bilinear 0.5 rule with the 1 x 1 scale kept and the input's token maps
#: computed up front.
EDIT_PROTOCOLS = dict(coherent='any_pixel', var_notebook='var_notebook')


def protocol_test_cfg(protocol: str, device_type: str) -> dict:
    """The ``test_cfg`` keys of an FID sampling protocol on ``device_type``.

    ``'exact'`` and, on CUDA, ``'official'`` are :data:`EVAL_PROTOCOLS`.
    fp16 autocast, TF32 and fp16 logits are the official settings for CUDA: on
    any other device ``'official'`` keeps the batched sampling but takes the
    precision policy (``precision='auto'``,
    :func:`~sar_mm.utils.precision.resolve_precision`) instead of fp16, with
    float32 logits, and logs a warning saying so.

    Args:
        protocol (str): ``'exact'`` or ``'official'``.
        device_type (str): the sampling device, e.g. ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: ``precision``, ``tf32``, ``batch_invariant`` and ``float32_logits``.
    """
    if protocol not in EVAL_PROTOCOLS:
        raise ValueError(f'protocol must be one of {sorted(EVAL_PROTOCOLS)}, got {protocol!r}')
    settings = dict(EVAL_PROTOCOLS[protocol])
    if protocol == 'official' and device_type != 'cuda':
        settings.update(precision='auto', tf32=False, float32_logits=True)
        print_log(f"protocol 'official' samples in fp16 with TF32 and fp16 logits on CUDA "
                  f"only; on {device_type} it samples batched with the precision policy "
                  "('auto') and float32 logits instead", logger='current',
                  level=30)  # logging.WARNING
    return settings


def to_uint8_images(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` images to uint8 with round-half-up, as the official savers do.

    ``clamp(127.5 x + 128, 0, 255)`` then truncation: the same numbers as VAR's
    ``x01 * 255 + 0.5`` and the DiT/FlexVAR ``127.5 x + 128.0``.

    Args:
        images (Tensor): (B, 3, H, W) float, about [-1, 1].

    Returns:
        Tensor: (B, 3, H, W) uint8.
    """
    return images.float().mul(127.5).add(128.0).clamp(0, 255).to(torch.uint8)


def _build(cfg: Union[dict, object], registry) -> object:
    return registry.build(cfg) if isinstance(cfg, dict) else cfg


def check_class_labels(labels: torch.Tensor, num_classes: int, allow_unconditional: bool) -> None:
    """Raise a clear error for class ids the class embedding has no row for.

    An out-of-range id would otherwise fail deep inside ``nn.Embedding`` (on
    CUDA as an asynchronous device-side assert that kills the process).

    Args:
        labels (Tensor): (B,) int64 class ids.
        num_classes (int): ids ``0 .. num_classes - 1`` are classes; ``num_classes``
            is the unconditional id of classifier-free guidance.
        allow_unconditional (bool): accept ``num_classes`` itself.
    """
    if labels.numel() == 0:
        return
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f'class labels must be integers, got {labels.dtype}')
    low, high = (int(v) for v in torch.aminmax(labels))
    limit = num_classes + 1 if allow_unconditional else num_classes
    if low < 0 or high >= limit:
        bad = sorted({int(v) for v in labels[(labels < 0) | (labels >= limit)].tolist()})
        raise ValueError(f'class labels {bad[:10]} are outside [0, {limit - 1}]: the backbone has '
                         f'{num_classes} classes' + (f' (+ the unconditional id {num_classes})'
                                                     if allow_unconditional else '')
                         + "; check the dataset's labels or the model's num_classes")


@MODELS.register_module()
class ScaleWiseAR(BaseModel):
    """Scale-wise autoregressive generator: tokenizer + backbone + rollout + loss.

    Training step (``mode='loss'``, docs/method.md §2 and §7.26): draw this
    step's schedule from ``scale_schedule``, tokenise the images with the frozen
    tokenizer (no grad; or quantise their cached latents,
    :class:`~sar_mm.datasets.LatentDataset`), let the rollout strategy run the backbone (one or more
    passes), and turn its :class:`~sar_mm.models.utils.scale_layout.RolloutOutput` into a
    dict of ``loss_*`` terms. Both SSR passes happen inside this one call, so the
    optim wrapper makes one update (``train_step`` is not overridden).

    Sampling (``mode='predict'`` / :meth:`generate`) runs the backbone's
    KV-cached steps through
    :func:`~sar_mm.models.utils.ar_generation.autoregressive_generate`;
    :meth:`edit` runs the same sampler with the tokens of an input image kept
    outside a mask (zero-shot in-painting, out-painting, class-conditional
    editing and refinement, docs/method.md §5.4).

    Per-sample determinism: when seeds are given, every row draws its tokens
    from its own ``torch.Generator`` seeded from its seed. With
    ``test_cfg.batch_invariant=True`` (default) every sample is also run through
    the transformer on its own (batch of one, or two rows with CFG), so its image
    depends only on (label, seed, ``test_cfg``), bit for bit, never on which
    other samples share its batch or on the number of processes. With
    ``batch_invariant=False`` the batch runs at once (much higher throughput on
    a GPU); the random streams are still per sample, but batched matrix
    products may differ in the last bits with the batch composition, which can
    rarely flip a sampled token. ``batch_invariant='auto'`` (the FID-50k
    configs) is False on CUDA and True on any other device.

    Children: ``tokenizer`` and ``backbone`` (the only modules with weights:
    state-dict prefixes ``tokenizer.`` and ``backbone.``), ``rollout`` and
    ``scale_schedule`` (plain objects with RNG ``state_dict()``), the loss module
    (config key ``loss``, attribute ``loss_module``, because ``loss`` is the
    method of the ``'loss'`` mode) and the data preprocessor. The parsed
    ``test_cfg`` is :attr:`sampling` (:class:`~sar_mm.models.utils.SamplingConfig`)
    and :attr:`numerics` (:class:`~sar_mm.models.utils.SamplingNumerics`), both
    frozen: assign e.g. ``model.sampling.replace(cfg=2.0)`` to change one.

    Args:
        tokenizer (dict | nn.Module): a ``BaseMultiScaleTokenizer`` (``TOKENIZERS``);
            frozen here.
        backbone (dict | nn.Module): a ``BaseScaleTransformer`` (``BACKBONES``).
        rollout (dict | BaseRollout, optional): ``ROLLOUTS``; default ``TeacherForcing``.
        loss (dict | nn.Module, optional): ``LOSSES``; default ``ScaleCrossEntropyLoss``.
        scale_schedule (dict | object, optional): ``TASK_UTILS``; default
            ``FixedScaleSchedule`` (the canonical 10 scales).
        data_preprocessor (dict | nn.Module, optional): default
            ``GeneratorDataPreprocessor``.
        test_cfg (dict, optional): sampling settings, parsed once into
            :attr:`sampling` (:class:`~sar_mm.models.utils.SamplingConfig`,
            what is drawn: ``patch_nums``, ``cfg``, ``cfg_schedule``,
            ``top_k``, ``top_p``, ``max_pn``, ``sampled_scales``, ``greedy``)
            and :attr:`numerics` (:class:`~sar_mm.models.utils.SamplingNumerics`,
            how it runs: ``precision``, ``tf32``, ``batch_invariant``,
            ``float32_logits``). Missing
            keys take the defaults (VAR's FID recipe, exact fp32 numerics);
            unknown keys and bad values raise here. The protocol of a run is
            the independent numerics keys rather than one ``protocol`` key:
            each states one thing that changes the samples, a config shows
            what runs and any one can be overridden alone;
            :data:`EVAL_PROTOCOLS` names the two combinations that matter
            (``tools/test.py --protocol exact|official``).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 tokenizer: Union[dict, nn.Module],
                 backbone: Union[dict, nn.Module],
                 rollout: Optional[Union[dict, object]] = None,
                 loss: Optional[Union[dict, nn.Module]] = None,
                 scale_schedule: Optional[Union[dict, object]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor),
                         init_cfg=init_cfg)
        self.tokenizer = _build(tokenizer, TOKENIZERS)
        self.tokenizer.freeze()
        self.backbone = _build(backbone, BACKBONES)
        self.rollout = _build(rollout or dict(type='TeacherForcing'), ROLLOUTS)
        self.loss_module = _build(loss or dict(type='ScaleCrossEntropyLoss'), LOSSES)
        self.scale_schedule = _build(scale_schedule or dict(type='FixedScaleSchedule'),
                                     TASK_UTILS)
        self.sampling = SamplingConfig.from_test_cfg(test_cfg)
        self.numerics = SamplingNumerics.from_test_cfg(test_cfg)

    # --- modes ---------------------------------------------------------------------------
    def forward(self, inputs: Optional[torch.Tensor], data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[dict], torch.Tensor]:
        """Dispatch on ``mode``.

        Args:
            inputs (Tensor | None): (B, 3, H, W) images in [-1, 1] (``None`` for
                class-label sampling batches and for training on cached latents).
            data_samples (dict): ``labels`` (B,); for ``'loss'`` optionally
                ``latents`` (B, Cvae, h, w) instead of ``inputs``; for ``'predict'``
                optionally ``seeds`` (B,) and ``sample_idx`` (B,).
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f"invalid mode {mode!r}; expected 'loss', 'predict' or 'tensor'")

    def _check_schedule_fits(self, latent_hw: Sequence[int], what: str) -> None:
        """Raise if this model's schedule can exceed a latent of side ``latent_hw``."""
        side = min(latent_hw)
        if self.scale_schedule.max_scale > side:
            raise ValueError(
                f'the scale schedule reaches {self.scale_schedule.max_scale} but {what} give '
                f'a latent side of {side} (downsample {self.tokenizer.downsample}): use larger '
                'crops or a smaller schedule')

    def _tokenize(self, inputs: torch.Tensor, patch_nums: Sequence[int],
                  latents: Optional[torch.Tensor] = None) -> List[torch.Tensor]:
        """Ground-truth token maps, in float32 without gradient.

        From the images, or from their precomputed tokenizer latents
        (``latents``, see :class:`~sar_mm.datasets.LatentDataset`), which give
        the same maps without running the encoder. The optim wrapper's
        autocast covers the whole training forward; the official trainer
        encodes the images outside it, so autocast is off here.
        """
        device_type = (inputs if latents is None else latents).device.type
        with torch.no_grad(), torch.autocast(device_type, enabled=False):
            if latents is not None:
                return self.tokenizer.latent_to_idx(latents.float(), patch_nums)
            return self.tokenizer.img_to_idx(inputs.float(), patch_nums)

    def rollout_step(self, inputs: Optional[torch.Tensor], labels: torch.Tensor,
                     latents: Optional[torch.Tensor] = None) -> RolloutOutput:
        """Schedule draw, tokenisation and rollout of one training step (before the loss).

        Args:
            inputs (Tensor | None): (B, 3, H, W) in [-1, 1]; ``None`` when
                ``latents`` are given.
            labels (Tensor): (B,) int64.
            latents (Tensor, optional): (B, Cvae, h, w) the frozen tokenizer's
                :meth:`encode_latent` of the images, instead of ``inputs``.

        Returns:
            RolloutOutput: logits in the graph and their targets (and the student pass's).
        """
        if (inputs is None) == (latents is None):
            raise ValueError('a training batch needs either images (inputs) or tokenizer '
                             'latents (data_samples["latents"]), not both or neither')
        if latents is None:
            self._check_schedule_fits([n // self.tokenizer.downsample for n in inputs.shape[-2:]],
                                      f'{tuple(inputs.shape[-2:])} images')
        else:
            self._check_schedule_fits(latents.shape[-2:], f'{tuple(latents.shape[-2:])} latents')
        check_class_labels(labels, self.backbone.num_classes, allow_unconditional=False)
        patch_nums = self.scale_schedule()
        idx_list = self._tokenize(inputs, patch_nums, latents)  # K x (B, pn*pn)
        return self.rollout(self.backbone, self.tokenizer, labels, idx_list, patch_nums)

    def loss(self, inputs: Optional[torch.Tensor], data_samples: dict) -> Dict[str, torch.Tensor]:
        """One training step's losses (both SSR passes, one update).

        Args:
            inputs (Tensor | None): (B, 3, H, W) in [-1, 1], or ``None`` with
                precomputed latents.
            data_samples (dict): ``labels`` (B,) int64; optionally ``latents``
                (B, Cvae, h, w) (:class:`~sar_mm.datasets.LatentDataset`).

        Returns:
            dict[str, Tensor]: ``loss_*`` terms (summed by MMEngine) and logged values.
        """
        return self.loss_module(self.rollout_step(inputs, data_samples['labels'],
                                                  data_samples.get('latents')))

    def _forward(self, inputs: torch.Tensor, data_samples: dict) -> torch.Tensor:
        """Teacher-forced logits (B, L, V) on ``sampling.patch_nums`` (no rollout)."""
        check_class_labels(data_samples['labels'], self.backbone.num_classes,
                           allow_unconditional=False)
        patch_nums = list(self.sampling.patch_nums)
        idx_list = self._tokenize(inputs, patch_nums)
        x_BLCv = teacher_forced_inputs(self.tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
        return self.backbone(data_samples['labels'], x_BLCv, patch_nums)

    def predict(self, inputs: Optional[torch.Tensor], data_samples: dict) -> List[dict]:
        """Generate one image per label with :attr:`sampling` and :attr:`numerics`.

        Args:
            inputs: ignored (class-label sampling has no images).
            data_samples (dict): ``labels`` (B,), ``seeds`` (B,) (optional: without
                them the global RNG is used and ``seed`` is reported as -1),
                ``sample_idx`` (B,) (optional, defaults to 0..B-1).

        Returns:
            list[dict]: per sample ``fake_img`` uint8 (3, H, W) on the CPU,
            ``label``, ``seed``, ``sample_idx`` (ints).
        """
        labels = data_samples['labels']
        seeds = data_samples.get('seeds')
        sample_idx = data_samples.get('sample_idx')
        images = self.generate(labels, seeds=seeds)['images'].cpu()
        B = labels.shape[0]
        seed_list = [-1] * B if seeds is None else [int(s) for s in seeds]
        idx_list = list(range(B)) if sample_idx is None else [int(i) for i in sample_idx]
        return [dict(fake_img=images[i], label=int(labels[i]), seed=seed_list[i],
                     sample_idx=idx_list[i]) for i in range(B)]

    # --- sampling ------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self,
                 labels: torch.Tensor,
                 seeds: Optional[Union[torch.Tensor, Sequence[int]]] = None,
                 generator: Optional[torch.Generator] = None,
                 sampling: Optional[SamplingConfig] = None,
                 return_scale_images: bool = False,
                 known_tokens: Optional[KnownTokens] = None,
                 **overrides) -> dict:
        """Sample images for ``labels``.

        With ``seeds``, each sample draws from its own generator (see the class
        docstring for ``batch_invariant``); otherwise the batch is drawn at once from
        ``generator`` (or the global RNG). The backbone runs in eval mode (no
        drop-path) and its mode is restored afterwards; the TF32 flags
        (``numerics.tf32``) are set for the call and restored afterwards.

        Args:
            labels (Tensor): (B,) int64 class ids.
            seeds: (B,) per-sample seeds, or ``None``.
            generator (torch.Generator, optional): used when ``seeds`` is ``None``.
            sampling (SamplingConfig, optional): the recipe instead of :attr:`sampling`.
            return_scale_images (bool): also decode every scale.
            known_tokens (KnownTokens, optional): tokens to keep at every scale
                (:meth:`edit`; VAR's tokenizer gives a ``ResidualKnownTokens``);
                ``None`` samples every token.
            **overrides: ``test_cfg`` keys for this call, e.g. ``cfg=2.0,
                top_k=1, precision='bf16'``: recipe keys update ``sampling``,
                numerics keys update :attr:`numerics` (checked like
                ``test_cfg``; unknown keys raise).

        Returns:
            dict: ``images`` uint8 (B, 3, H, W); ``idx_per_scale`` list of
            (B, pn ** 2); ``scale_images`` list of uint8 (B, 3, h, w) per scale
            or ``None``.
        """
        recipe_overrides, numerics_overrides = split_test_cfg(overrides)
        sampling = (sampling or self.sampling).replace(**recipe_overrides)
        numerics = self.numerics.replace(**numerics_overrides)
        device = next(self.backbone.parameters()).device
        labels = torch.as_tensor(labels, device=device).view(-1)
        check_class_labels(labels, self.backbone.num_classes, allow_unconditional=True)
        labels = labels.long()
        batch_invariant = numerics.batch_invariant_on(device.type)
        chosen = resolve_precision(numerics.precision, device.type)
        log_precision_once(chosen)
        if known_tokens is not None:
            known_tokens.check(labels.shape[0], sampling.patch_nums)

        def run(label_rows: torch.Tensor, gen: Optional[torch.Generator], rows: slice):
            known = None if known_tokens is None else known_tokens.rows(rows)
            with chosen.autocast(), allow_tf32(numerics.tf32):
                return autoregressive_generate(
                    self.backbone, self.tokenizer, label_rows, sampling, generator=gen,
                    return_scale_images=return_scale_images, known=known,
                    float32_logits=numerics.float32_logits)

        was_training = self.backbone.training
        self.backbone.eval()
        try:
            everything = slice(None)
            if seeds is None:
                results = [run(labels, generator, everything)]
            else:
                seeds = [int(s) for s in torch.as_tensor(seeds).view(-1).tolist()]
                if len(seeds) != labels.shape[0]:
                    raise ValueError(f'got {len(seeds)} seeds for {labels.shape[0]} labels')
                generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
                if batch_invariant:
                    results = [run(labels[i:i + 1], [gen], slice(i, i + 1))
                               for i, gen in enumerate(generators)]
                else:
                    results = [run(labels, generators, everything)]
        finally:
            self.backbone.train(was_training)

        num_scales = len(results[0].idx_per_scale)
        out = dict(
            images=to_uint8_images(torch.cat([r.image for r in results])),
            idx_per_scale=[torch.cat([r.idx_per_scale[s] for r in results])
                           for s in range(num_scales)],
            scale_images=None)
        if return_scale_images:
            out['scale_images'] = [
                to_uint8_images(torch.cat([r.scale_images[s] for r in results]))
                for s in range(num_scales)]
        return out

    # --- zero-shot image-to-image ----------------------------------------------------------
    @torch.no_grad()
    def encode_scales(self, images: torch.Tensor,
                      patch_nums: Optional[Sequence[int]] = None) -> List[torch.Tensor]:
        """Token maps of images on a sampling schedule: the known tokens of :meth:`edit`.

        Args:
            images (Tensor): (B, 3, H, W) in [-1, 1] with ``H == W ==
                patch_nums[-1] * tokenizer.downsample``, so that the last scale
                decodes to an image of the input's size.
            patch_nums (sequence of int, optional): default ``sampling.patch_nums``.

        Returns:
            list[Tensor]: one (B, pn ** 2) int64 map per scale.

        Raises:
            ValueError: images of another size, or a schedule the tokenizer
                cannot serve (e.g. VAR: not ending at its latent side).
        """
        pns = [int(pn) for pn in (self.sampling.patch_nums if patch_nums is None
                                  else patch_nums)]
        self._check_image_size(images, pns)
        return self._tokenize(images, pns)

    def _check_image_size(self, images: torch.Tensor, pns: Sequence[int]) -> None:
        """Raise unless (B, 3, H, W) images decode from the last scale of ``pns``."""
        side = pns[-1] * self.tokenizer.downsample
        if images.dim() != 4 or images.shape[1] != 3 or tuple(images.shape[-2:]) != (side, side):
            raise ValueError(f'images of shape {tuple(images.shape)} do not fit the schedule '
                             f'{pns}: its last scale {pns[-1]} x downsample '
                             f'{self.tokenizer.downsample} needs (B, 3, {side}, {side}); resize '
                             'the images or pick a schedule ending at their latent side')

    @torch.no_grad()
    def edit(self,
             images: torch.Tensor,
             masks: torch.Tensor,
             labels: Optional[torch.Tensor] = None,
             seeds: Optional[Union[torch.Tensor, Sequence[int]]] = None,
             generator: Optional[torch.Generator] = None,
             keep_scales: int = 0,
             return_scale_images: bool = False,
             edit_protocol: str = 'coherent',
             **sampling_overrides) -> dict:
        """Zero-shot image-to-image sampling (docs/method.md §5.4).

        Resamples ``masks`` to every scale
        (:func:`~sar_mm.models.utils.known_tokens.regenerate_per_scale`) and
        samples with :meth:`generate`, keeping the input's tokens wherever a
        scale's mask is False. In-painting: a mask inside the image;
        out-painting: the image on a larger canvas, the border masked;
        class-conditional editing: a mask and another label; refinement:
        ``keep_scales`` first scales kept, the rest regenerated. An all-False
        mask returns the input's reconstruction; an all-True mask with
        ``keep_scales=0`` is :meth:`generate`, token for token.

        Args:
            images (Tensor): (B, 3, H, W) in [-1, 1] (see :meth:`encode_scales`).
            masks (Tensor): (B, H, W) bool, True = regenerate.
            labels (Tensor, optional): (B,) class ids of the results; ``None``
                is the unconditional id ``num_classes`` for every image
                (in-painting, as VAR's notebook does).
            seeds, generator: as for :meth:`generate`.
            keep_scales (int): keep every token of the first ``keep_scales`` scales.
            return_scale_images (bool): also decode every scale.
            edit_protocol (str): a key of :data:`EDIT_PROTOCOLS`: ``'coherent'``
                (the tokenizer's :meth:`known_tokens`; VAR's kept tokens follow
                the residual of the tokens used) or ``'var_notebook'`` (VAR's
                notebook: its mask rule and the input's token maps as they are).
            **sampling_overrides: ``sampling=`` or keyword overrides of
                ``test_cfg``, as for :meth:`generate` (``patch_nums``, ``cfg``, ...).

        Returns:
            dict: :meth:`generate`'s output plus ``regenerate_per_scale`` (the
            resampled masks, a list of (B, pn ** 2) bool).
        """
        if edit_protocol not in EDIT_PROTOCOLS:
            raise ValueError(f'edit_protocol must be one of {sorted(EDIT_PROTOCOLS)}, got '
                             f'{edit_protocol!r}')
        device = next(self.backbone.parameters()).device
        sampling = sampling_overrides.get('sampling') or self.sampling
        patch_nums = sampling_overrides.get('patch_nums')
        pns = [int(pn) for pn in (sampling.patch_nums if patch_nums is None else patch_nums)]
        images = images.to(device)
        masks = torch.as_tensor(masks, device=device)
        labels = (torch.full((images.shape[0],), self.backbone.num_classes, device=device)
                  if labels is None else torch.as_tensor(labels, device=device).view(-1))
        if tuple(masks.shape) != (images.shape[0], *images.shape[-2:]):
            raise ValueError(f'masks of shape {tuple(masks.shape)} do not match images of shape '
                             f'{tuple(images.shape)}: expected (B, H, W) = '
                             f'{(images.shape[0], *images.shape[-2:])}')
        if labels.shape[0] != images.shape[0]:
            raise ValueError(f'got {labels.shape[0]} labels for {images.shape[0]} images')
        self._check_image_size(images, pns)
        regenerate = regenerate_per_scale(masks, pns, self.tokenizer.downsample, keep_scales,
                                          rule=EDIT_PROTOCOLS[edit_protocol])
        if edit_protocol == 'var_notebook':
            known = KnownTokens(self.encode_scales(images, pns), regenerate)
        else:
            with torch.autocast(device.type, enabled=False):
                known = self.tokenizer.known_tokens(images.float(), regenerate, pns)
        out = self.generate(labels, seeds=seeds, generator=generator,
                            return_scale_images=return_scale_images, known_tokens=known,
                            **sampling_overrides)
        out.update(regenerate_per_scale=regenerate)
        return out
