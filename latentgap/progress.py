"""Progress and cancellation from inside the long loops of a diagnosis.

The loops (a classifier's batches in `train.fit`, the encoder's batches, the probes, the UMAP projections) call
`report(fraction, detail)` as they go. Outside a dashboard job nothing listens and a call costs one context-variable
read. The job runner (`jobs.run_job`) listens with `listening(callback)`: the callback stores the fraction in the
job's row and raises `jobs.JobCancelled` once the user cancelled, so the exception leaves the loop at that batch and
the worker is free for the next job within seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[float | None, str], None]
_LISTENER: ContextVar[Listener | None] = ContextVar("latentgap_progress_listener", default=None)


def report(fraction: float | None = None, detail: str = "") -> None:
    """Tell the listener (if any) how far the current step is: `fraction` in [0, 1] (None: no new fraction, only a
    sign of life and a chance to cancel) and a short `detail` such as "epoch 3/30". May raise the listener's
    cancellation exception."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(fraction, detail)


@contextmanager
def listening(callback: Listener) -> Iterator[None]:
    """Route `report` calls of this thread (and context) to `callback` while the block runs."""
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)
