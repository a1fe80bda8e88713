"""Codebook rows drawn from encoder outputs: sampling and k-means."""
import torch

from sar_mm.models.tokenizers.codebook_seeding import kmeans_codes, sample_rows


def test_sample_rows_are_distinct_while_enough_and_use_only_the_generator():
    vectors = torch.arange(20.0).view(10, 2)
    rng = torch.get_rng_state()
    rows = sample_rows(vectors, 6, torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), rng)
    assert rows[:, 0].unique().numel() == 6 and set(rows[:, 0].tolist()) <= set(range(0, 20, 2))
    again = sample_rows(vectors, 6, torch.Generator().manual_seed(0))
    assert torch.equal(rows, again)
    assert sample_rows(vectors[:2], 5, torch.Generator().manual_seed(0)).shape == (5, 2)


def test_kmeans_finds_separated_clusters():
    centers = torch.tensor([[5.0, 0.0], [0.0, 5.0], [-5.0, -5.0]])
    generator = torch.Generator().manual_seed(0)
    vectors = (centers[:, None] + 0.1 * torch.randn(3, 50, 2, generator=generator)).reshape(-1, 2)
    codes = kmeans_codes(vectors, 3, iters=20, generator=torch.Generator().manual_seed(1),
                         spherical=False)
    found = sorted(codes.tolist())
    for got, want in zip(found, sorted(centers.tolist())):
        assert torch.allclose(torch.tensor(got), torch.tensor(want), atol=0.1)


def test_spherical_kmeans_keeps_unit_centroids():
    vectors = torch.nn.functional.normalize(torch.randn(200, 3), dim=1)
    codes = kmeans_codes(vectors, 8, iters=5, generator=torch.Generator().manual_seed(0),
                         spherical=True)
    assert torch.allclose(codes.norm(dim=1), torch.ones(8), atol=1e-6)
