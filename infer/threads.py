"""How many threads inference should use: one per physical core (TASRIH_THREADS overrides)."""

from __future__ import annotations

import os
from pathlib import Path


def physical_cores() -> int:
    """Cores this process may run on, counting hyper-threads once (TASRIH_THREADS overrides)."""
    env = os.environ.get("TASRIH_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for c in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{c}/topology")
        try:
            cores.add(f"{(topo / 'physical_package_id').read_text().strip()}:{(topo / 'core_id').read_text().strip()}")
        except OSError:
            cores.add(f"cpu{c}")
    return max(1, len(cores))
