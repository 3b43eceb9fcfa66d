"""The machine the run measured: CPU, memory, huge pages, versions, GPU, commit, load."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
import torch_render

from ..settings import REPO
from ..windows import Windows


def machine_info(windows: Windows) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    thp = None
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().strip()
    except OSError:
        pass
    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "torch_render": getattr(torch_render, "__version__", "?")}
    for mod, attr in (("matplotlib", "__version__"), ("cv2", "__version__"), ("PIL", "__version__"),
                      ("cairo", "version")):
        try:
            versions[mod] = getattr(__import__(mod), attr)
        except ImportError:
            versions[mod] = None
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    build = None  # the op's speed changes with the code: name the commit and the library's build time
    try:
        lib = Path(torch_render._C.__file__)
        build = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lib.stat().st_mtime))
    except (AttributeError, OSError):
        pass
    commit = None
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    return dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads_default=torch.get_num_threads(),
                memory_bytes=mem, transparent_hugepage=thp,
                thp_mem_alloc_enable=os.environ.get("THP_MEM_ALLOC_ENABLE"), gpu=gpu,
                versions=versions, data=windows.source, loadavg=load_average(), git=commit,
                library_built=build, platform=platform.platform())


def load_average():
    """(1, 5, 15 min) load average, or None where the system has none."""
    try:
        return os.getloadavg()
    except OSError:
        return None
