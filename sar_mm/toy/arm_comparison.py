"""Paired comparisons of the toy's post-training arms with their control, per seed and
across whole pipeline runs.

Every difference is arm minus control over the pairs (pipeline, seed) that share a
pretrained checkpoint and seeds, with Student's t interval
(:func:`sar_mm.evaluation.paired_stats.paired_difference`).
"""
from typing import Dict, List, Sequence

from sar_mm.evaluation.exposure_bias import EXPOSURE_BIAS_MODES
from sar_mm.evaluation.paired_stats import paired_difference, paired_differences_per_scale

__all__ = ['SCALARS', 'paired', 'format_paired', 'compare_arms', 'pool_pipelines',
           'across_pipelines']

SCALARS = ('fid', 'class_acc', 'precision', 'recall')


def paired(arm: Sequence[float], control: Sequence[float]) -> dict:
    """:class:`~sar_mm.evaluation.paired_stats.PairedDifference` of ``arm - control`` as a
    dict; one pair has no interval: ``n``, ``mean``, ``std`` (0) and ``values`` only."""
    if len(arm) == len(control) == 1:
        diff = float(arm[0]) - float(control[0])
        return dict(n=1, mean=diff, std=0.0, values=[diff])
    return paired_difference(arm, control).to_dict()


def format_paired(diff: dict, digits: int = 2) -> str:
    """``+mean [low, high]``, `` *`` when the interval excludes 0; ``+mean`` for one pair."""
    if 'ci_low' not in diff:
        return f'{diff["mean"]:+.{digits}f}'
    return (f'{diff["mean"]:+.{digits}f} [{diff["ci_low"]:+.{digits}f}, '
            f'{diff["ci_high"]:+.{digits}f}]' + (' *' if diff['excludes_zero'] else ''))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def compare_arms(runs: Dict[str, List[dict]], train_wall_s: Dict[str, List[float]],
                 titles: Dict[str, str], control: str) -> dict:
    """Paired comparisons of every arm with the control.

    Args:
        runs: arm name (and ``'pretrained'``) -> one evaluation result per pair,
            in the same order for every arm (keys of :func:`sar_mm.toy.evaluate_model`).
        train_wall_s: arm name -> post-training seconds per pair.
        titles: arm name -> its title.
        control: the control arm's name.

    Returns:
        dict: arm name -> ``title``, per-scalar ``mean`` and ``values``,
        ``vs_control`` (per scalar :class:`PairedDifference` as a dict;
        ``'pretrained'`` is compared the other way round, control minus
        pretrained, i.e. what post-training does), ``gap`` per mode with the
        mean per-scale ``acc_gap`` and ``acc_gap_vs_control`` per scale, and
        ``mean_gap_vs_control``, ``mean_rollout_acc_vs_control`` and
        ``mean_tf_acc_vs_control`` (the gap, rolled-out and teacher-forced
        accuracy averaged over scales 2..K), and ``cost_s`` (mean train and
        evaluation seconds per run).

    Raises:
        ValueError: an arm with another number of runs than the control.
    """
    reference = runs[control]
    arms = {}
    for name, results in runs.items():
        if len(results) != len(reference):
            raise ValueError(f'{name}: {len(results)} seeds, the control has {len(reference)}')
        first, second = (reference, results) if name == 'pretrained' else (results, reference)
        entry = dict(title=titles[name],
                     mean={key: _mean([r[key] for r in results]) for key in SCALARS},
                     values={key: [r[key] for r in results] for key in SCALARS}, gap={})
        if name != control:
            entry['vs_control'] = {key: paired([r[key] for r in first], [r[key] for r in second])
                                   for key in SCALARS}
        for mode in EXPOSURE_BIAS_MODES:
            gaps = [r['exposure_bias'][mode]['acc_gap'] for r in results]
            gap = dict(patch_nums=results[0]['exposure_bias'][mode]['patch_nums'],
                       acc_gap=[_mean(col) for col in zip(*gaps)])
            if name != control:
                gap['acc_gap_vs_control'] = [d.to_dict() for d in paired_differences_per_scale(
                    [r['exposure_bias'][mode]['acc_gap'] for r in first],
                    [r['exposure_bias'][mode]['acc_gap'] for r in second])]
                # means over scales 2..K: the gap, and its two sides (a gap also
                # shrinks when teacher-forced accuracy falls)
                for key, out_key in (('acc_gap', 'mean_gap_vs_control'),
                                     ('rollout_acc', 'mean_rollout_acc_vs_control'),
                                     ('tf_acc', 'mean_tf_acc_vs_control')):
                    gap[out_key] = paired(
                        [_mean(r['exposure_bias'][mode][key][1:]) for r in first],
                        [_mean(r['exposure_bias'][mode][key][1:]) for r in second])
            entry['gap'][mode] = gap
        entry['cost_s'] = dict(eval=_mean([r['wall_s'] for r in results]))
        if name in train_wall_s:
            entry['cost_s']['train'] = _mean(train_wall_s[name])
        arms[name] = entry
    return arms


def pool_pipelines(per_pipeline: Sequence[Dict[str, list]]) -> Dict[str, list]:
    """Arm name -> its per-seed entries of every pipeline, pipeline after pipeline:
    the pairs (pipeline, seed) of a pooled :func:`compare_arms`."""
    return {name: [v for runs in per_pipeline for v in runs[name]] for name in per_pipeline[0]}


def across_pipelines(per_pipeline: Sequence[dict], pooled: dict) -> dict:
    """Whether each comparison holds across pipeline runs.

    Args:
        per_pipeline: one :func:`compare_arms` result per pipeline.
        pooled: :func:`compare_arms` of the pooled pairs.

    Returns:
        dict: arm name -> quantity (``fid``, ``class_acc``, ``mean_gap_chain``,
        ``mean_gap_one_step``) -> ``per_pipeline`` (the paired differences),
        ``pooled``, ``significant`` (pipelines whose interval excludes 0),
        ``same_sign`` (every pipeline's mean difference has the pooled one's sign)
        and ``holds`` (every pipeline's interval excludes 0 on the pooled side).
    """
    out = {}
    for name, arm in pooled.items():
        if 'vs_control' not in arm:
            continue

        def pick(entry: dict, quantity: str) -> dict:
            if quantity.startswith('mean_gap_'):
                return entry['gap'][quantity[len('mean_gap_'):]]['mean_gap_vs_control']
            return entry['vs_control'][quantity]

        out[name] = {}
        for quantity in ('fid', 'class_acc', 'mean_gap_chain', 'mean_gap_one_step'):
            diffs = [pick(summary[name], quantity) for summary in per_pipeline]
            total = pick(arm, quantity)
            same_sign = all(d['mean'] * total['mean'] > 0 for d in diffs)
            significant = sum(bool(d.get('excludes_zero')) for d in diffs)
            out[name][quantity] = dict(per_pipeline=diffs, pooled=total, significant=significant,
                                       same_sign=same_sign,
                                       holds=same_sign and significant == len(diffs))
    return out
