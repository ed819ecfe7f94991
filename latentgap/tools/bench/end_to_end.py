"""End-to-end: wall time of one `diagnose --profile quick` on the default pair, split by the steps `diagnose`
itself times (stored with the run), from cold caches (a fresh temporary workspace).

`--quick` caps the benchmark at `max_samples` images (whole patients) so the whole bench stays under 10 minutes
on a 2-core CPU; the result says so. With `profile_to`, the run is sampled by pyinstrument (low overhead,
statistical) and its call tree written there.
"""

from __future__ import annotations

import time
from pathlib import Path

QUICK_MAX_SAMPLES = 600


def run(
    workdir: Path,
    device: str,
    quick: bool,
    profile: str = "quick",
    max_samples: int | None = None,
    profile_to: Path | None = None,
) -> dict:
    from latentgap.autoencoders.zoo import DEFAULT_AE
    from latentgap.datasets.registry import DEFAULT_DATASET
    from latentgap.diagnose import diagnose
    from latentgap.spec import DiagnosisSpec, get_profile
    from latentgap.store import Store

    if max_samples is None and quick:
        max_samples = QUICK_MAX_SAMPLES
    spec = DiagnosisSpec(DEFAULT_AE, DEFAULT_DATASET, profile=profile, device=device, max_samples=max_samples)
    home = Path(workdir) / "e2e-home"
    profiler = None
    if profile_to is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.01)
        profiler.start()
    t0 = time.perf_counter()
    run_id = diagnose(spec, home)
    wall = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        Path(profile_to).write_text(profiler.output_text(unicode=False, color=False))
    timing = Store(home).run_spec(run_id)["timing"]
    steps = {k: v for k, v in timing.items() if k != "total"}
    return dict(
        autoencoder=DEFAULT_AE,
        dataset=DEFAULT_DATASET,
        profile=profile,
        n_images=max_samples or get_profile(profile).n_images,
        max_samples=max_samples,
        wall_s=wall,
        steps_s=steps,
        slowest_step=max(steps, key=steps.get),
        profiled=profile_to is not None,
    )
