"""Launch the latentgap dashboard: `python app.py` (same as `python -m latentgap serve`)."""

import sys

from latentgap.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
