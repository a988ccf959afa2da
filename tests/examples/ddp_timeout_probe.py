"""Two processes join a gloo group through Runtime.start; rank 1 then stops answering, rank 0 waits on a collective.

Run by tests/examples/test_ddp_timeout.py with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set; argv[1] is the
timeout in seconds. Rank 0 prints what :func:`run_main` prints and exits with its status.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from examples.common.errors import run_main
from examples.common.runtime import Runtime


def main() -> int:
    runtime = Runtime.start("cpu", timeout=float(sys.argv[1]))
    if runtime.rank == 1:
        time.sleep(60)  # a stopped rank: never reaches the collective
        return 0
    runtime.any_rank(False)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
