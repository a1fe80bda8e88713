"""Known tokens of zero-shot editing: the mask-to-grid rule, checks, merge and row slicing."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.utils import KnownTokens, regenerate_per_scale

PATCH_NUMS = [1, 2, 3, 4]  # latent 4 x 4; with downsample 2, images of 8 px


def one_pixel_mask(row, col, side=8):
    mask = torch.zeros(1, side, side, dtype=torch.bool)
    mask[0, row, col] = True
    return mask


def cells(grid, pn):
    """Row-major (B, pn * pn) bool map -> set of (row, col) of the first row."""
    return {(i // pn, i % pn) for i in grid[0].nonzero().flatten().tolist()}


def test_a_corner_pixel_regenerates_the_corner_cell_of_every_scale():
    grids = regenerate_per_scale(one_pixel_mask(0, 1), PATCH_NUMS, downsample=2)
    assert [cells(g, pn) for g, pn in zip(grids, PATCH_NUMS)] == [
        {(0, 0)}, {(0, 0)}, {(0, 0)}, {(0, 0)}]


def test_a_pixel_on_a_shared_latent_row_regenerates_every_token_it_feeds():
    # pixel (2, 2) is latent cell (1, 1); the area resize 4 -> 3 averages latent rows
    # [0, 2) into token row 0 and [1, 3) into token row 1, so latent row 1 feeds both
    grids = regenerate_per_scale(one_pixel_mask(2, 2), PATCH_NUMS, downsample=2)
    assert cells(grids[2], 3) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert cells(grids[3], 4) == {(1, 1)}
    assert cells(grids[1], 2) == {(0, 0)}


def test_rule_equals_the_support_of_the_tokenizers_area_resize():
    """A token is regenerated exactly when the area resize of the masked latent cells
    reaches it: the resize the tokenizers apply to the latent before quantising."""
    g = torch.Generator().manual_seed(0)
    masks = torch.rand(6, 32, 32, generator=g) > 0.97
    pns = [1, 2, 3, 5, 6, 7, 8]
    grids = regenerate_per_scale(masks, pns, downsample=4)
    latent = masks.view(6, 8, 4, 8, 4).any(dim=4).any(dim=2).float()[:, None]  # (6, 1, 8, 8)
    for grid, pn in zip(grids, pns):
        support = F.interpolate(latent, size=(pn, pn), mode='area').view(6, -1) > 0
        assert torch.equal(grid, support), pn


def test_keep_scales_keeps_the_first_scales_whole():
    masks = torch.ones(2, 8, 8, dtype=torch.bool)
    grids = regenerate_per_scale(masks, PATCH_NUMS, downsample=2, keep_scales=2)
    assert [bool(g.any()) for g in grids] == [False, False, True, True]
    assert all(bool(g.all()) for g in grids[2:])
    assert not any(g.any() for g in regenerate_per_scale(masks, PATCH_NUMS, 2, keep_scales=4))


def test_var_notebook_rule_is_a_bilinear_half_threshold_of_the_kept_latent_cells():
    """VAR's demo_zero_shot_edit.ipynb: F.interpolate(keep, bilinear) > 0.5 keeps a
    token, and the 1 x 1 scale is always kept."""
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, 2:8, 2:8] = True  # latent rows and columns 1-3 of the 4 x 4 grid
    grids = regenerate_per_scale(masks, PATCH_NUMS, downsample=2, rule='var_notebook')
    assert cells(grids[0], 1) == set()  # kept, though the mask covers most of it
    # 4 -> 2 samples the latent at 0.5 and 2.5: token (0, 0) averages latent cells
    # (0, 0), (0, 1), (1, 0) (kept) and (1, 1) (masked): 0.75 > 0.5; token (0, 1)
    # averages (0, 2), (0, 3) (kept) and (1, 2), (1, 3): 0.5, regenerated
    assert cells(grids[1], 2) == {(0, 1), (1, 0), (1, 1)}
    assert cells(grids[3], 4) == {(r, c) for r in range(1, 4) for c in range(1, 4)}
    # the any-pixel rule regenerates the 1 x 1 scale for any mask
    assert cells(regenerate_per_scale(masks, PATCH_NUMS, downsample=2)[0], 1) == {(0, 0)}


def test_var_notebook_rule_keeps_tokens_mostly_of_kept_cells():
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, :, 4:6] = True  # latent column 2
    notebook = regenerate_per_scale(masks, PATCH_NUMS, downsample=2, rule='var_notebook')
    any_pixel = regenerate_per_scale(masks, PATCH_NUMS, downsample=2)
    # 4 -> 3 samples the latent columns at 1/6, 3/2 and 17/6: token column 2 weighs
    # latent column 2 by 1/6 only (kept), column 1 by 1/2 (regenerated); its area
    # window, latent columns 2-3, holds the masked column
    assert cells(notebook[2], 3) == {(r, 1) for r in range(3)}
    assert cells(any_pixel[2], 3) == {(r, c) for r in range(3) for c in (1, 2)}
    assert cells(notebook[3], 4) == cells(any_pixel[3], 4) == {(r, 2) for r in range(4)}


def test_an_unknown_rule_is_named():
    with pytest.raises(ValueError, match=r"rule must be one of \('any_pixel', 'var_notebook'\)"):
        regenerate_per_scale(torch.ones(1, 8, 8, dtype=torch.bool), PATCH_NUMS, 2, rule='area')


@pytest.mark.parametrize('masks,keep,message', [
    (torch.ones(1, 8, 6, dtype=torch.bool), 0, r'8x6 px do not fit the schedule'),
    (torch.ones(1, 16, 16, dtype=torch.bool), 0, r'needs 8x8 px'),
    (torch.ones(1, 8, 8), 0, 'must be \\(B, H, W\\) bool'),
    (torch.ones(1, 8, 8, dtype=torch.bool), 5, r'keep_scales must be in \[0, 4\]'),
    (torch.ones(1, 8, 8, dtype=torch.bool), -1, r'keep_scales must be in \[0, 4\]'),
])
def test_bad_masks_and_keep_scales_are_named(masks, keep, message):
    with pytest.raises(ValueError, match=message):
        regenerate_per_scale(masks, PATCH_NUMS, downsample=2, keep_scales=keep)


def known_tokens(B=2, pns=(1, 2)):
    idx = [torch.arange(B * pn * pn).view(B, pn * pn) for pn in pns]
    regen = [torch.arange(B * pn * pn).view(B, pn * pn) % 2 == 0 for pn in pns]
    return KnownTokens(idx, regen)


def test_merge_takes_drawn_tokens_where_regenerated():
    known = known_tokens()
    drawn = torch.full((2, 4), -1)
    merged, carry = known.merge(1, drawn, (1, 2), None)
    assert merged.tolist() == [[-1, 1, -1, 3], [-1, 5, -1, 7]] and carry is None


def test_rows_slices_every_scale():
    rows = known_tokens(B=3).rows(slice(1, 2))
    assert [m.tolist() for m in rows.idx_per_scale] == [[[1]], [[4, 5, 6, 7]]]
    assert [m.tolist() for m in rows.regenerate_per_scale] == [[[False]],
                                                               [[True, False, True, False]]]


@pytest.mark.parametrize('batch,pns,message', [
    (2, (1, 2, 3), 'idx_per_scale has 2 scales, the schedule \\[1, 2, 3\\] has 3'),
    (3, (1, 2), r'idx_per_scale at scale 1 must be \(3, 1\) torch.int64, got \(2, 1\)'),
    (2, (1, 3), r'at scale 3 must be \(2, 9\)'),
])
def test_check_names_the_mismatch(batch, pns, message):
    with pytest.raises(ValueError, match=message):
        known_tokens().check(batch, pns)


def test_check_wants_bool_masks():
    known = known_tokens()
    known.regenerate_per_scale = [m.long() for m in known.regenerate_per_scale]
    with pytest.raises(ValueError, match='regenerate_per_scale at scale 1 must be'):
        known.check(2, (1, 2))
