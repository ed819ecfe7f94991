import torch

from latentgap.classifiers.models import ConvNeXt, ResNet


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_paper_backbones_have_the_published_sizes():
    # torchvision's ResNet-50 / ConvNeXt-Tiny have 25.56 M / 28.59 M parameters with a 1000-class head
    r = ResNet.resnet50(3, 1000)
    c = ConvNeXt.tiny(3, 1000)
    assert abs(n_params(r) - 25_557_032) < 1000
    assert abs(n_params(c) - 28_589_128) < 1000


def test_shapes_and_latent_stem():
    assert ResNet(3, 6, (1, 1, 1, 1), 8, "basic")(torch.randn(2, 3, 64, 64)).shape == (2, 6)
    latent = ConvNeXt(16, 6, (1, 1, 1, 1), (8, 16, 32, 64), stem_stride=1)
    assert latent(torch.randn(2, 16, 8, 8)).shape == (2, 6)
    assert ConvNeXt.tiny(32, 19, stem_stride=4)(torch.randn(1, 32, 64, 64)).shape == (1, 19)


def test_convnext_takes_latents_smaller_than_its_downsampling():
    """DC-AE (f32) gives 2x2 latents at 64 px: the three 2x downsamplings must still run."""
    import torch

    from latentgap.classifiers.models import ConvNeXt

    m = ConvNeXt(32, 6, depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), stem_stride=1, film=True)
    for size in (1, 2, 3):
        assert m(torch.randn(2, 32, size, size), torch.ones(2)).shape == (2, 6)
