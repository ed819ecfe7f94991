"""Tiny autoencoders in the `madebyollin/taesd` .pth layout (plain `nn.Sequential` state dicts): TAEF2 (FLUX.2's
latent space), the TAESana encoder (Sana's DC-AE, f32), and TAESD / TAEF1 files. The model is `tiny_pth.py`'s, read
off the keys and shapes; `loading.py` hands these files and folders to `tiny_pth.load_tiny`.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class TaesdPthFamily(Family):
    intake: str = "taesd-pth"
    tiny_pool: bool = False  # the tiny test model carries TAEF2's pool branches

    def encode(self, model, x, vq_latent=None):
        return model.encode(x)

    def decode(self, model, z):
        return model.decode(z)

    def factor(self, config: dict) -> int:
        return int(config.get("downsampling_factor", self.downsampling_factor))

    def build_model(self, config: dict):
        """A random model of this layout from (width, latent_channels, downsampling_factor, pool); for tests."""
        from latentgap.autoencoders.tiny_pth import Layer, Layout, TinyAutoencoder, TinyDecoder, TinyEncoder

        w, c, f, pool = config["width"], config["latent_channels"], config["downsampling_factor"], config["pool"]
        p = 2 * w if pool else 0
        steps = f.bit_length() - 1
        enc = [Layer("conv", 3, w, bias=True), Layer("block", w, w)]
        for _ in range(steps):
            enc += [Layer("down", w, w), Layer("block", w, w, pool_channels=p)]
        enc.append(Layer("conv", w, c, bias=True))
        dec = [Layer("clamp", c, c), Layer("conv", c, w, bias=True), Layer("relu", w, w), Layer("block", w, w)]
        for _ in range(steps):
            dec += [Layer("upsample", w, w), Layer("conv", w, w), Layer("block", w, w)]
        dec.append(Layer("conv", w, 3, bias=True))
        model = TinyAutoencoder(
            TinyEncoder(Layout("encoder", tuple(enc), c, f, w, pool)),
            TinyDecoder(Layout("decoder", tuple(dec), c, f, w, False)),
            name=self.name,
        )
        model.config = dict(config)
        return model

    def tiny_config(self) -> dict:
        return dict(
            width=4,
            latent_channels=self.latent_channels,
            downsampling_factor=self.downsampling_factor,
            pool=self.tiny_pool,
        )


_MIT = "MIT (madebyollin/taesd)"
register(
    TaesdPthFamily(
        name="taef2",
        model_class="latentgap.autoencoders.tiny_pth.TinyAutoencoder",
        in_channels=3,
        latent_channels=32,
        downsampling_factor=8,
        tiny_pool=True,
        paper_name="FLUX.2-dev (distilled)",
        description=f"TAEF2: tiny AE distilled into the FLUX.2 VAE's latent space, 32 ch, f8; {_MIT}",
    )
)
register(
    TaesdPthFamily(
        name="taesana",
        model_class="latentgap.autoencoders.tiny_pth.TinyAutoencoder",
        in_channels=3,
        latent_channels=32,
        downsampling_factor=32,
        description=f"TAESana: tiny encoder distilled into Sana's DC-AE latent space, 32 ch, f32; {_MIT}",
    )
)
register(
    TaesdPthFamily(
        name="taesd-pth",
        model_class="latentgap.autoencoders.tiny_pth.TinyAutoencoder",
        in_channels=3,
        latent_channels=4,
        downsampling_factor=8,
        description=f"TAESD / TAESDXL (4 ch) or TAEF1 / TAESD3 (16 ch) .pth files, f8; {_MIT}",
    )
)


def family_of(model) -> str:
    """The registered family name of a loaded `TinyAutoencoder` (TAESD and TAEF1 files share `taesd-pth`)."""
    return model.family if model.family in ("taef2", "taesana") else "taesd-pth"
