"""The app's process keeps numpy's BLAS on one thread: an idle OpenBLAS worker spins in sched_yield
after every small numpy call and takes CPU from the live threads and from the call app beside us."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

COUNT = ("import os, sys; sys.path.insert(0, {root!r}); {pre}"
         "before = len(os.listdir('/proc/self/task')); import numpy; numpy.ones((64, 64)) @ numpy.ones((64, 64)); "
         "print(len(os.listdir('/proc/self/task')) - before)")


def threads_numpy_adds(pre: str) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", COUNT.format(root=str(ROOT), pre=pre)], env=env,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="counts threads through Linux /proc on a multi-core machine")
def test_the_app_starts_no_blas_worker_threads():
    assert threads_numpy_adds("") >= 1            # numpy alone starts OpenBLAS workers here
    assert threads_numpy_adds("import run; ") == 0
