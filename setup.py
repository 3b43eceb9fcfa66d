"""Builds torch_render._C with torch.utils.cpp_extension.

The extension holds the operators (csrc/, kernels/). CUDA sources are compiled
when nvcc and a CUDA build of torch are present, even with no GPU visible (the
architecture list is then set explicitly); otherwise the build is CPU-only.

Environment:
  TORCH_RENDER_FORCE_CUDA=1   fail instead of falling back to a CPU-only build
  TORCH_RENDER_CPU_ONLY=1     never build the CUDA sources
  TORCH_CUDA_ARCH_LIST        the CUDA architectures (a user-set value wins)
  TORCH_RENDER_DEBUG=1        -O0 -g
"""

import glob
import os

from setuptools import find_packages, setup

import torch
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

ROOT = os.path.dirname(os.path.abspath(__file__))
# Architectures built when no GPU is visible and none is given: SASS for Turing,
# Ampere (runs on 8.x) and Hopper, PTX for newer GPUs.
DEFAULT_CUDA_ARCHS = "7.5;8.0;9.0+PTX"


def _sources(*patterns: str) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found += sorted(glob.glob(os.path.join(ROOT, pattern)))
    return [os.path.relpath(path, ROOT) for path in found]


def _want_cuda(cuda_sources: list[str]) -> bool:
    force = os.environ.get("TORCH_RENDER_FORCE_CUDA", "0") == "1"
    if os.environ.get("TORCH_RENDER_CPU_ONLY", "0") == "1":
        return False
    missing = []
    if not cuda_sources:
        missing.append("CUDA sources")
    if torch.version.cuda is None:
        missing.append("a CUDA build of torch")
    if CUDA_HOME is None:
        missing.append("the CUDA toolkit (nvcc)")
    if missing and force:
        raise RuntimeError("TORCH_RENDER_FORCE_CUDA=1 but missing: " + ", ".join(missing))
    return not missing


def _extension():
    debug = os.environ.get("TORCH_RENDER_DEBUG", "0") == "1"
    opt = ["-O0", "-g"] if debug else ["-O3"]
    # No -std: torch's BuildExtension adds the C++ standard that the installed
    # torch's headers need (C++17 with torch 2.11, C++20 with 2.15), for g++ and
    # nvcc alike. No FMA contraction (CPU and CUDA give the same bits); no errno or
    # trap semantics, which only block vectorisation and never change a value.
    cxx = ["-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
           "-fvisibility=hidden", *opt]
    # at::parallel_for is an OpenMP pragma in ATen's headers: without -fopenmp it
    # silently runs on one thread. No -fopenmp at link time: the OpenMP runtime is
    # the one torch has already loaded, never a second one.
    if "OpenMP" in torch.__config__.parallel_info():
        cxx.append("-fopenmp")
    common = dict(
        name="torch_render._C",
        include_dirs=[ROOT],
        define_macros=[("Py_LIMITED_API", "0x030A0000"), ("FMT_HEADER_ONLY", "1")],
        py_limited_api=True,
    )
    cpp_sources = _sources("csrc/*.cpp", "csrc/cpu/*.cpp", "kernels/cpu/*.cpp")
    cuda_sources = _sources("csrc/cuda/*.cu", "csrc/cuda/*.cpp", "kernels/*.cu")
    if _want_cuda(cuda_sources):
        if "TORCH_CUDA_ARCH_LIST" not in os.environ and not torch.cuda.is_available():
            os.environ["TORCH_CUDA_ARCH_LIST"] = DEFAULT_CUDA_ARCHS
        nvcc = ["--fmad=false", "--expt-relaxed-constexpr", *opt]
        return CUDAExtension(
            sources=cpp_sources + cuda_sources,
            extra_compile_args={"cxx": cxx + ["-DTORCH_RENDER_WITH_CUDA"], "nvcc": nvcc},
            **common,
        )
    return CppExtension(sources=cpp_sources, extra_compile_args={"cxx": cxx}, **common)


setup(
    name="torch_render",
    version="0.1.0",
    description="PyTorch operators that render price series as chart images into tensors",
    long_description=open(os.path.join(ROOT, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["torch_render", "torch_render.*"]),
    python_requires=">=3.10",
    install_requires=["torch>=2.11", "numpy"],
    ext_modules=[_extension()],
    cmdclass={"build_ext": BuildExtension},
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
