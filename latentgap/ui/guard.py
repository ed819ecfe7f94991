"""User errors in dashboard handlers: a `LatentgapError` becomes a `gr.Error` whose one-line message the page shows,
and one warning line in the server log; any other exception keeps Gradio's traceback (it is a bug to look at).

`guard_handlers(app)` wraps every handler of a built app in one place, so no tab can forget to.
"""

from __future__ import annotations

import functools
import inspect
import logging

from latentgap.errors import LatentgapError

log = logging.getLogger("latentgap.ui")


def user_errors(fn):
    """`fn`, with a LatentgapError shown in the page (`gr.Error`, no traceback) and logged as one warning line."""
    import gradio as gr

    @functools.wraps(fn)  # keeps the signature Gradio reads (event data parameters)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LatentgapError as e:
            log.warning("user error: %s", e)
            raise gr.Error(str(e), print_exception=False) from None

    run.guarded = True
    return run


def guard_handlers(app) -> None:
    """Wrap every Python handler of `app` (a built `gr.Blocks`) in `user_errors`; generators and coroutines (none so
    far) are left alone: their errors surface while they are iterated or awaited, outside a plain wrapper."""
    for block_fn in app.fns.values():
        fn = block_fn.fn
        plain = fn is not None and not (inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn))
        if plain and not inspect.isasyncgenfunction(fn) and not getattr(fn, "guarded", False):
            block_fn.fn = user_errors(fn)
