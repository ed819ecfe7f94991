"""atheris target: random bytes as a checkpoint file must load or raise a LatentgapError (run by test_inputs.py).

`python tests/reliability/fuzz_checkpoint.py -max_total_time=60` fuzzes for a minute.
"""

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
with atheris.instrument_imports():
    from latentgap.autoencoders.loading import read_checkpoint
from latentgap.errors import LatentgapError

FOLDER = Path(tempfile.mkdtemp(prefix="latentgap-fuzz-"))


def one(data: bytes) -> None:
    for suffix in (".safetensors", ".ckpt"):
        path = FOLDER / f"input{suffix}"
        path.write_bytes(data)
        try:
            read_checkpoint(path)
        except LatentgapError:
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
