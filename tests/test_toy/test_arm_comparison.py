"""sar_mm.toy.arm_comparison: paired statistics on hand-made evaluation results, per seed
and across whole pipeline runs."""
import pytest

from sar_mm.toy.arm_comparison import (across_pipelines, compare_arms, format_paired, paired,
                                       pool_pipelines)

PATCH_NUMS = [1, 2, 3]
TITLES = dict(pretrained='pretrained', tf='control', sar='SAR')
T_975 = {2: 4.30265, 5: 2.57058}  # t(0.975, df)


def _exposure(gap, tf_acc=(60.0, 50.0, 40.0)):
    return dict(patch_nums=PATCH_NUMS, acc_gap=gap, tf_acc=list(tf_acc),
                rollout_acc=[t - g for t, g in zip(tf_acc, gap)])


def _run(fid, acc, gap_chain, gap_one_step, wall_s=2.0):
    """One evaluation result as sar_mm.toy.evaluate_model writes it."""
    return dict(fid=fid, class_acc=acc, precision=0.5, recall=0.4, wall_s=wall_s,
                exposure_bias=dict(chain=_exposure(gap_chain), one_step=_exposure(gap_one_step)))


def _pipeline(fid_shift: float = 0.0, sar_fid_delta=(-1.0, -1.2, -0.8)):
    control = [_run(3.0 + fid_shift, 90.0, [0, 10, 20], [0, 5, 10]),
               _run(2.0 + fid_shift, 92.0, [0, 12, 22], [0, 5, 9]),
               _run(4.0 + fid_shift, 91.0, [0, 11, 21], [0, 6, 11])]
    # gaps smaller by 2 at scale 2 and 4 at scale 3 on every seed
    arm = [_run(c['fid'] + d, a, g, o) for c, d, a, g, o in zip(
        control, sar_fid_delta, (91.0, 92.0, 90.0), ([0, 8, 16], [0, 10, 18], [0, 9, 17]),
        ([0, 5, 10], [0, 5, 9], [0, 6, 11]))]
    pretrained = [_run(c['fid'] + 2.0, 81.0, [0, 20, 30], [0, 9, 15]) for c in control]
    return {'pretrained': pretrained, 'tf': control, 'sar': arm}


def test_every_arm_is_paired_with_the_control_by_seed():
    arms = compare_arms(_pipeline(), {'tf': [10.0, 12.0, 14.0], 'sar': [20.0, 22.0, 24.0]},
                        TITLES, 'tf')
    sar = arms['sar']
    fid = sar['vs_control']['fid']
    assert fid['values'] == pytest.approx([-1.0, -1.2, -0.8]) and fid['mean'] == pytest.approx(-1.0)
    half = T_975[2] * 0.2 / 3 ** 0.5  # t(0.975, 2) x sd / sqrt(n)
    assert (fid['ci_low'], fid['ci_high']) == pytest.approx((-1.0 - half, -1.0 + half), abs=1e-4)
    assert fid['excludes_zero'] is True
    assert sar['vs_control']['class_acc']['mean'] == pytest.approx(0.0)
    chain = sar['gap']['chain']
    assert [d['mean'] for d in chain['acc_gap_vs_control']] == pytest.approx([0, -2, -4])
    assert chain['mean_gap_vs_control']['mean'] == pytest.approx(-3.0)  # over scales 2..K
    # same teacher-forced accuracy: the smaller gap is all rolled-out accuracy
    assert chain['mean_rollout_acc_vs_control']['mean'] == pytest.approx(3.0)
    assert chain['mean_tf_acc_vs_control']['mean'] == pytest.approx(0.0)
    assert sar['gap']['one_step']['mean_gap_vs_control']['mean'] == pytest.approx(0.0)
    # the pretrained row shows what post-training does: control minus pretrained
    assert arms['pretrained']['vs_control']['fid']['mean'] == pytest.approx(-2.0)
    assert sar['cost_s'] == dict(eval=2.0, train=22.0)
    assert 'vs_control' not in arms['tf']


def test_unpaired_runs_are_refused():
    runs = {'tf': [_run(3.0, 90.0, [0, 1, 2], [0, 1, 2])] * 3,
            'sar': [_run(3.0, 90.0, [0, 1, 2], [0, 1, 2])] * 2}
    with pytest.raises(ValueError, match='sar: 2 seeds, the control has 3'):
        compare_arms(runs, {}, TITLES, 'tf')


def test_one_seed_has_a_difference_but_no_interval():
    assert paired([2.5], [2.0]) == dict(n=1, mean=0.5, std=0.0, values=[0.5])
    assert format_paired(paired([2.5], [2.0])) == '+0.50'
    two = paired([2.5, 3.0], [2.0, 2.0])
    assert format_paired(two) == f'+0.75 [{two["ci_low"]:+.2f}, {two["ci_high"]:+.2f}]'


def test_pooled_pipelines_pair_pipeline_and_seed():
    first, second = _pipeline(), _pipeline(fid_shift=1.5)
    pooled = pool_pipelines([first, second])
    assert pooled['sar'] == first['sar'] + second['sar']
    arms = compare_arms(pooled, {}, TITLES, 'tf')
    fid = arms['sar']['vs_control']['fid']
    assert fid['n'] == 6 and fid['mean'] == pytest.approx(-1.0)
    sd = (sum((v + 1.0) ** 2 for v in [-1.0, -1.2, -0.8] * 2) / 5) ** 0.5
    assert fid['ci_high'] == pytest.approx(-1.0 + T_975[5] * sd / 6 ** 0.5, abs=1e-4)


def test_the_verdict_says_whether_a_difference_holds_in_every_pipeline():
    # SAR lowers FID in both pipelines; in the third it raises it
    pipelines = [_pipeline(), _pipeline(fid_shift=1.5), _pipeline(sar_fid_delta=(0.9, 1.1, 1.0))]
    summaries = [compare_arms(runs, {}, TITLES, 'tf') for runs in pipelines]
    both = across_pipelines(summaries[:2], compare_arms(pool_pipelines(pipelines[:2]), {}, TITLES,
                                                        'tf'))
    assert set(both) == {'pretrained', 'sar'}
    fid = both['sar']['fid']
    assert fid['holds'] and fid['same_sign'] and fid['significant'] == 2
    assert [d['mean'] for d in fid['per_pipeline']] == pytest.approx([-1.0, -1.0])
    assert fid['pooled']['n'] == 6
    # no difference in class accuracy anywhere: nothing holds
    assert not both['sar']['class_acc']['holds'] and both['sar']['class_acc']['significant'] == 0
    assert both['sar']['mean_gap_chain']['holds']  # the gap is 3 pp smaller on every seed
    mixed = across_pipelines(summaries, compare_arms(pool_pipelines(pipelines), {}, TITLES, 'tf'))
    fid = mixed['sar']['fid']
    assert fid['significant'] == 3 and not fid['same_sign'] and not fid['holds']
