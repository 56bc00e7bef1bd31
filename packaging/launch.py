"""The frozen app's entry point: the same `bpstudio` command as the pip package."""

import sys

from bpstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
