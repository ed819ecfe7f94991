"""build_app() wires every handler with the arguments Gradio passes: Gradio only warns at build time when a handler's
signature does not match (and then calls it wrongly on click), so the build must be warning-free."""

import warnings

from latentgap.ui import build_app


def test_every_handler_matches_what_gradio_passes(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_app(tmp_path)
    mismatched = [str(w.message) for w in caught if "arguments for function" in str(w.message)]
    assert not mismatched, mismatched
