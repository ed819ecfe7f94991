"""Views that follow the store: when a job (or a CLI run) stores a new run, the open page shows it without a reload.

Every 2 s the page's `gr.Timer` asks the store for its runs' fingerprint (`Store.runs_version`: one cached query).
Only when it differs from what this page last saw does the returned `changed` state change, and the views that list
runs (Overview, the run pickers, Compare's choices) refresh on that change; otherwise the tick updates nothing.

The same fingerprint keys the read views' cache (`cached_view`): a view of stored runs changes only when a run is
stored, so between two runs every client is answered from Gradio's cache, before its request joins the queue.
"""

from __future__ import annotations

from pathlib import Path


def cached_view(home: Path, fn, max_size: int = 64, version=None):
    """`fn` answered from Gradio's cache (`gr.cache`: a hit skips the queue) while the stored runs are unchanged: the
    key is the runs fingerprint and fn's arguments. Concurrent misses of one key compute it once (`coalesced`).

    fn: a view of stored runs only, with named parameters (Gradio binds the inputs to them); what it returns is
    shared by every hit, so neither fn nor its callers may change it in place. version: what else fn's answer
    depends on, called per request in place of the runs fingerprint (e.g. `jobs_version`)."""
    import functools

    import gradio as gr
    from gradio.caching import cache_hash

    from latentgap.store import Store, coalesced

    def key(arguments: dict) -> tuple:
        return (version() if version else Store(home).runs_version()), arguments

    @functools.wraps(fn)  # fn's signature: the names gr.cache binds the inputs to
    def once(**arguments):
        return coalesced(("view", id(fn), cache_hash(key(arguments))), lambda: fn(**arguments))

    return gr.cache(once, key=key, max_size=max_size)


def jobs_version(home: Path) -> tuple:
    """What the job list shows changes with any write to the store and, for a running job's elapsed time, each
    second: (the store files' state, the current second)."""
    import time

    from latentgap.store import Store

    return Store(home).file_state(), int(time.time())


def check_runs(home: Path, seen: str | None) -> tuple:
    """(what this page has now seen, the change signal): the fingerprint twice when it moved, else no update (the
    first look after page load only records it: the load handlers showed those runs already)."""
    import gradio as gr

    from latentgap.store import Store

    version = Store(home).runs_version()
    if version == seen:
        return gr.skip(), gr.skip()
    return version, (version if seen is not None else gr.skip())


def build_run_watch(app, home: Path, timer=None):
    """A state that changes whenever a run is stored while the page is open; tabs add its `.change` to their
    triggers. timer: the page's `gr.Timer` (one timer for the page: its ticks arrive together, so the browser's
    network falls quiet between them), else a new one of 2 s."""
    import gradio as gr

    seen, changed = gr.State(None), gr.State(None)
    app.load(lambda: check_runs(home, None)[0], outputs=seen, api_name=False)
    (timer or gr.Timer(2.0)).tick(
        lambda s: check_runs(home, s), inputs=seen, outputs=[seen, changed], api_name=False, show_progress="hidden"
    )
    return changed
