"""User errors in handlers: one line in the page and one warning line in the log; a bug keeps its traceback."""

import logging
import socket

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from latentgap import LatentgapError
from latentgap.ui import build_app
from latentgap.ui.guard import guard_handlers


def test_build_app_guards_every_handler(tmp_path):
    app = build_app(tmp_path)
    handlers = [f for f in app.fns.values() if f.fn is not None]
    assert len(handlers) > 10 and all(getattr(f.fn, "guarded", False) for f in handlers)


@pytest.fixture
def served():
    """A two-button app with the dashboard's guard, served in this process (so its stderr and log are captured)."""

    def refuse(x):
        raise LatentgapError(f"{x} is not a safetensors file: its header is unreadable; pick the weights file")

    def crash(x):
        raise ValueError("a bug")

    with gr.Blocks() as app:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button("refuse").click(refuse, box, out, api_name="refuse")
        gr.Button("crash").click(crash, box, out, api_name="crash")
    guard_handlers(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.queue().launch(server_port=port, prevent_thread_lock=True, quiet=True, show_error=False)
    yield Client(f"http://127.0.0.1:{port}", verbose=False)
    app.close()


def test_a_user_error_is_one_page_line_and_one_log_line(served, capfd, caplog):
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, "latentgap.ui"), pytest.raises(AppError) as shown:
        served.predict("notes.safetensors", api_name="/refuse")
    assert "notes.safetensors is not a safetensors file" in str(shown.value)  # the page's message
    assert [r.getMessage() for r in caplog.records] == [
        "user error: notes.safetensors is not a safetensors file: its header is unreadable; pick the weights file"
    ]
    assert "Traceback" not in capfd.readouterr().err


def test_an_unexpected_error_keeps_its_traceback(served, capfd, caplog):
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, "latentgap.ui"), pytest.raises(AppError):
        served.predict("x", api_name="/crash")
    assert not caplog.records and "ValueError: a bug" in capfd.readouterr().err
