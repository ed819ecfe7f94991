"""Fault scenarios of `latentgap.tools.selfcheck` (the same functions `selfcheck` runs), plus the units they rest on."""

import errno

import numpy as np
import pytest
import torch

from latentgap import LatentgapError
from latentgap.cache import atomic_savez, load_npz
from latentgap.encode import is_out_of_memory
from latentgap.tools.selfcheck import faults
from latentgap.tools.selfcheck.common import lost_records, seed_finished_run


def _passed(out):
    assert out.passed and not out.skipped, "\n".join(out.detail)
    assert out.lost == 0 and out.handled == out.tried > 0
    return out


@pytest.mark.slow
def test_worker_killed_mid_encode_and_mid_training_resumes(tmp_path):
    out = _passed(faults.worker_killed(tmp_path))
    assert out.tried == 2 and any("resumed from the cached latents" in line for line in out.detail)


def test_app_killed_with_jobs_queued(tmp_path):
    _passed(faults.app_killed_with_queued_jobs(tmp_path))


def test_out_of_memory_backs_off_then_fails_clearly(tmp_path):
    _passed(faults.out_of_memory_in_a_batch(tmp_path))


def test_disk_full_on_store_and_cache(tmp_path):
    _passed(faults.disk_full_on_store_and_cache(tmp_path))


def test_read_only_workspace(tmp_path):
    out = faults.read_only_workspace(tmp_path)
    if out.skipped:
        pytest.skip(out.skipped)
    _passed(out)


@pytest.mark.slow
def test_twenty_concurrent_jobs_none_lost_none_twice(tmp_path):
    _passed(faults.concurrent_jobs(tmp_path))


def test_corrupt_truncated_foreign_old_and_new_stores(tmp_path):
    _passed(faults.corrupt_and_old_stores(tmp_path))


def test_lost_records_notices_a_changed_result(tmp_path):
    """The measure behind results_lost can fail: a changed value counts as lost."""
    from latentgap.store import Store

    snapshot = seed_finished_run(tmp_path)
    assert lost_records(tmp_path, snapshot) == 0
    run = dict(
        run_id="other",
        autoencoder="x",
        family="sd-vae",
        ae_hash="h",
        dataset="d",
        synthetic=True,
        profile="smoke",
        seed=0,
        device="cpu",
        spec={},
        versions={},
        timing={},
    )
    Store(tmp_path).write_run(
        run,
        {
            "metrics": [
                dict(
                    run_id="other",
                    arm="x",
                    quantity="score",
                    metric="m",
                    value=1.0,
                    ci_low=None,
                    ci_high=None,
                    fold=0,
                    noise_level=0.5,
                )
            ]
        },
    )
    assert lost_records(tmp_path, snapshot) == 0  # other runs change column dtypes, not the seeded records
    assert lost_records(tmp_path, [(*snapshot[0][:5], 0.123, *snapshot[0][6:])]) == 1


@pytest.mark.parametrize(
    "error, oom",
    [
        (torch.OutOfMemoryError("CUDA out of memory"), True),
        (RuntimeError("MPS backend out of memory"), True),
        (MemoryError(), True),
        (RuntimeError("size mismatch"), False),
    ],
)
def test_out_of_memory_is_recognised(error, oom):
    assert is_out_of_memory(error) is oom


def test_a_damaged_cache_file_counts_as_absent(tmp_path):
    path = tmp_path / "k.npz"
    atomic_savez(path, latents=np.ones((3, 2)))
    path.write_bytes(path.read_bytes()[:50])  # damaged on disk after a complete write
    assert load_npz(path) is None and not path.exists()


def test_cache_write_errors_are_clear(tmp_path, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(LatentgapError, match=r"cannot write the cache file k[.]npz .*free disk space"):
        atomic_savez(tmp_path / "k.npz", latents=np.ones(3))
    assert list(tmp_path.iterdir()) == []
