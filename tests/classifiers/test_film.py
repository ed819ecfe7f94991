import numpy as np
import torch

from latentgap.classifiers.models import ConvNeXt
from latentgap.classifiers.train import TrainConfig, fit, predict_logits

SMALL = dict(depths=(1, 1, 1, 1), dims=(16, 16, 32, 32), stem_stride=1, drop_path=0.0)


def test_film_model_equals_the_unconditioned_network_at_initialisation():
    torch.manual_seed(0)
    film = ConvNeXt(4, 5, film=True, **SMALL).eval()
    plain = ConvNeXt(4, 5, film=False, **SMALL).eval()
    plain.load_state_dict({k: v for k, v in film.state_dict().items() if k in plain.state_dict()})
    x = torch.randn(3, 4, 8, 8)
    for sigma in (0.002, 1.0, 80.0):
        assert torch.allclose(film(x, torch.full((3,), sigma)), plain(x), atol=1e-6)


def _noisy_task(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = torch.randn(n, 4, 8, 8) * 0.3
    x[:, 0] += torch.from_numpy(np.where(y == 1, 0.5, -0.5)).float()[:, None, None]
    return x, y


def test_film_output_depends_on_sigma_after_noise_training():
    x, y = _noisy_task()
    model = ConvNeXt(4, 2, film=True, **SMALL)
    cfg = TrainConfig(epochs=4, batch_size=32, lr=2e-3, loss="ce", patience=4, augment="none")
    model, _ = fit(model, x[:300], y[:300], x[300:], y[300:], cfg, seed=0, sigmas=np.geomspace(0.002, 80, 32))
    model.eval()
    with torch.no_grad():
        a = model(x[:8], torch.full((8,), 0.01))
        b = model(x[:8], torch.full((8,), 20.0))
    assert (a - b).abs().max() > 1e-3  # FiLM learned to use σ
    clean_acc = (predict_logits(model, x[300:], "cpu").argmax(1) == y[300:]).mean()
    very_noisy = (predict_logits(model, x[300:], "cpu", sigma=80.0).argmax(1) == y[300:]).mean()
    assert clean_acc > 0.9 and very_noisy < clean_acc  # accuracy falls along the trajectory


def test_distillation_pulls_student_logits_towards_the_teacher():
    x, y = _noisy_task(seed=1)
    teacher = np.random.default_rng(0).normal(0, 3, size=(300, 2)).astype(np.float32)  # arbitrary targets
    cfg = TrainConfig(epochs=5, batch_size=32, lr=2e-3, loss="ce", patience=5, augment="none")
    mse = {}
    for distill in (False, True):
        model = ConvNeXt(4, 2, **SMALL)
        model, _ = fit(
            model, x[:300], y[:300], x[300:], y[300:], cfg, seed=0, teacher_logits=teacher if distill else None
        )
        mse[distill] = float(((predict_logits(model, x[:300], "cpu") - teacher) ** 2).mean())
    assert mse[True] < 0.7 * mse[False]


def test_film_projects_the_raw_embedding():
    """The authors' FiLM reads the σ embedding as it is: a negative component is not squashed by a SiLU first."""
    from latentgap.classifiers.models import FiLM

    film = FiLM(emb_dim=2, channels=1)
    with torch.no_grad():
        film.proj.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))  # scale = emb[0], shift = 0
    x = torch.ones(1, 1, 2, 2)
    out = film(x, torch.tensor([[-2.0, 0.0]]))
    assert torch.allclose(out, x * (1 - 2.0))  # with a SiLU first: x * (1 + silu(-2)) = 0.76 x


def test_layer_scale_sets_the_initial_block_gammas():
    default, larger = ConvNeXt(4, 2, **SMALL), ConvNeXt(4, 2, layer_scale=0.1, **SMALL)
    assert all(torch.all(b.gamma == 1e-6) for s in default.stages for b in s)  # ConvNeXt's own init
    assert all(torch.all(b.gamma == 0.1) for s in larger.stages for b in s)
