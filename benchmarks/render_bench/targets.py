"""The speed targets of issue #4, as data. report/verdicts.py evaluates them.

A CPU target divides the images/s of one row of the throughput table by another's
and passes when the ratio is at least ``required``. A row is (size, dtype, threads,
method); threads ALL_THREADS is torch's default thread count (such targets are left
out when that is 1, and their name's {all_threads} is filled in); method FASTEST_PEER
is the fastest peer of that size, dtype and thread count.

The GPU target compares the op's write bandwidth with a device-to-device copy's, for
each GPU row that matches it. The memory bound (B*S*L*4 + L*4 bytes) is in
measuring/memory.py: it is a formula of the case, not a number.
"""

from __future__ import annotations

from typing import NamedTuple, Union


class Row(NamedTuple):
    size: str
    dtype: str
    threads: Union[int, str]
    method: str


class CPUTarget(NamedTuple):
    name: str
    measured: Row
    reference: Row
    required: float


ALL_THREADS = "all"
FASTEST_PEER = "fastest peer"

CPU_TARGETS = (
    CPUTarget("500x800 float32 1 thread: out= vs out.fill_ floor",
              Row("500x800", "float32", 1, "op_out"), Row("500x800", "float32", 1, "fill_out"), 0.6),
    CPUTarget("500x800 float32 1 thread: out= vs OpenCV LINE_AA",
              Row("500x800", "float32", 1, "op_out"), Row("500x800", "float32", 1, "cv2_aa"), 4.0),
    CPUTarget("500x800 float32 1 thread: fresh vs torch.empty().fill_ floor",
              Row("500x800", "float32", 1, "op"), Row("500x800", "float32", 1, "fill_fresh"), 0.8),
    CPUTarget("224x224 float32 1 thread: fresh vs fastest peer",
              Row("224x224", "float32", 1, "op"), Row("224x224", "float32", 1, FASTEST_PEER), 3.0),
    CPUTarget("224x224 float32 1 thread: out= vs fastest peer",
              Row("224x224", "float32", 1, "op_out"), Row("224x224", "float32", 1, FASTEST_PEER), 3.0),
    CPUTarget("64x64 float32 1 thread: fresh vs fastest peer",
              Row("64x64", "float32", 1, "op"), Row("64x64", "float32", 1, FASTEST_PEER), 3.0),
    CPUTarget("64x64 float32 1 thread: out= vs fastest peer",
              Row("64x64", "float32", 1, "op_out"), Row("64x64", "float32", 1, FASTEST_PEER), 3.0),
    CPUTarget("500x800 1 thread: uint8 vs float32 (fresh)",
              Row("500x800", "uint8", 1, "op"), Row("500x800", "float32", 1, "op"), 2.0),
    CPUTarget("500x800 1 thread: uint8 vs float32 (out=)",
              Row("500x800", "uint8", 1, "op_out"), Row("500x800", "float32", 1, "op_out"), 2.0),
    CPUTarget("500x800 float32: {all_threads} threads vs 1 thread (fresh)",
              Row("500x800", "float32", ALL_THREADS, "op"), Row("500x800", "float32", 1, "op"), 1.7),
    CPUTarget("500x800 float32: {all_threads} threads vs 1 thread (out=)",
              Row("500x800", "float32", ALL_THREADS, "op_out"), Row("500x800", "float32", 1, "op_out"), 1.7),
    CPUTarget("224x224 float32: {all_threads} threads vs 1 thread (fresh)",
              Row("224x224", "float32", ALL_THREADS, "op"), Row("224x224", "float32", 1, "op"), 1.7),
    CPUTarget("224x224 float32: {all_threads} threads vs 1 thread (out=)",
              Row("224x224", "float32", ALL_THREADS, "op_out"), Row("224x224", "float32", 1, "op_out"), 1.7),
)

# GPU: the out= write bandwidth at least this fraction of the copy bandwidth.
GPU_TARGET = dict(
    name="GPU {size} float32 B={batch}: out= write bandwidth vs copy bandwidth",
    name_not_run="GPU: >= 50% of copy bandwidth",
    method="op_out",
    dtype="float32",
    sizes=("500x800", "224x224"),
    min_batch=256,
    required=0.5,
)
