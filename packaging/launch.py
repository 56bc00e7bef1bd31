"""The frozen app's entry point: the same `bpstudio` command as the pip package."""

import os
import sys
from pathlib import Path

if getattr(sys, "frozen", False):
    # numba keeps the compiled engine in a cache that must be writable: the bundle is not.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bpstudio"
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache / "numba"))

from bpstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
