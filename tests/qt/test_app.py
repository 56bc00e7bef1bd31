"""How the studio sets its process up."""

import subprocess
import sys

import pytest

# The snapshots' picture passes for lesson 2's network, in a fresh interpreter (glibc's
# defaults untouched): page faults per pass, with and without keep_freed_memory().
PASSES = """
import resource, sys
from bpstudio.lessons import lessons
from bpstudio.project import load_project
from bpstudio.viewmodel.snapshots import SnapshotMaker
if sys.argv[1] == "kept":
    from bpstudio.qt.app import keep_freed_memory
    assert keep_freed_memory()
trainer = load_project(lessons()[1].path).make_trainer()
maker = SnapshotMaker(trainer)
maker.make(final=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    maker.make(final=True)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def faults(mode):
    out = subprocess.run(
        [sys.executable, "-c", PASSES, mode], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_freed_memory_is_kept_for_the_next_pictures():
    from bpstudio.qt.app import keep_freed_memory

    if not keep_freed_memory():
        pytest.skip("not glibc")
    default, kept = faults("default"), faults("kept")
    assert kept < 20 <= default / 10, (default, kept)
