"""Run every benchmark script in bench/ (bench_*.py), one process each, in name order.

BENCH_SMOKE=1 runs each at a tiny size (tests/test_bench_smoke.py does, on PostgreSQL).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        failed |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
    return failed


if __name__ == "__main__":
    sys.exit(main())
