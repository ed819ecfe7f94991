"""The Dockerfile, checked as far as a machine without a Docker daemon allows: every instruction is valid, every
COPY source exists, the installed requirements are pinned, and the CMD is a valid latentgap command line."""

import json
import shlex
from pathlib import Path

from latentgap.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTIONS = {
    "FROM",
    "ENV",
    "WORKDIR",
    "COPY",
    "RUN",
    "USER",
    "VOLUME",
    "EXPOSE",
    "CMD",
    "ARG",
    "LABEL",
    "HEALTHCHECK",
}


def _instructions():
    lines, buf = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        buf += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            lines.append(buf.strip())
            buf = ""
    return [(line.split()[0], line.split(maxsplit=1)[1]) for line in lines]


def test_instructions_and_copy_sources():
    ins = _instructions()
    assert ins[0][0] == "FROM" and {k for k, _ in ins} <= INSTRUCTIONS
    for key, arg in ins:
        if key == "COPY":
            for src in shlex.split(arg)[:-1]:
                assert (ROOT / src).exists(), f"COPY {src}: missing"


def test_requirements_are_pinned_and_include_the_runtime():
    reqs = [r.split("#")[0].strip() for r in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [r for r in reqs if r]
    assert all("==" in r for r in reqs), [r for r in reqs if "==" not in r]
    names = {r.split("==")[0].lower() for r in reqs}
    assert {"torch", "diffusers", "gradio", "duckdb", "safetensors", "scikit-learn", "plotly"} <= names


def test_cmd_is_a_valid_command_line():
    cmd = next(arg for key, arg in _instructions() if key == "CMD")
    argv = json.loads(cmd)  # the exec form is a JSON list of strings
    assert argv[:3] == ["python", "-m", "latentgap"]
    args = build_parser().parse_args(argv[3:])
    assert args.verb == "serve" and args.host == "0.0.0.0" and args.port == 7860
