"""torch_render's speed at two builds, side by side on one machine.

    python benchmarks/compare_builds.py --old /path/to/old/checkout --new .

Each build is a checkout with its extension built in place (``python setup.py
build_ext --inplace``, so that ``torch_render/_C*.so`` lies beside its Python
package). For every configuration (size, dtype, threads) and every round, this
runs ``benchmarks/bench_render.py`` (of this checkout) once with each build's
package first on ``PYTHONPATH``, in a fresh process, the two builds back to back
and in alternating order, so that a slow drift of the machine's load falls on
both alike. It prints, per torch_render row (method, size, dtype, threads), the
median over rounds of new images/s / old images/s, and flags rows below
``--min-ratio`` (issue 12's "every torch_render row at >= 0.97x its old speed").

Options after ``--`` go to bench_render.py as they are (default: the op's two forms
and the fill floor, no memory, GPU or geometry sections). Progress goes to stderr;
``--json`` writes every measurement.

``--stat best`` measures instead with this file's own timing loop: the same three
methods, the same windows and batches as bench_render.py, each call timed alone,
and the rate of the fastest call of each build. On a shared machine other jobs
only ever add time to a call, so the fastest call is the stablest estimate of what
the code costs (bench_render's median throughput moves with the load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE / "bench_render.py"
TORCH_RENDER_METHODS = ("op", "op_out")
DEFAULT_BENCH_ARGS = [
    "--methods", "op,op_out,fill_out", "--no-memory", "--no-gpu", "--check-images", "0",
    "--min-time", "0.3", "--repeats", "3", "--quiet",
]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    bench_args = DEFAULT_BENCH_ARGS
    if "--" in argv:
        cut = argv.index("--")
        argv, bench_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(
        prog="python benchmarks/compare_builds.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--old", type=Path, required=True, help="checkout of the old commit, built in place")
    parser.add_argument("--new", type=Path, required=True, help="checkout of the new commit, built in place")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each build per configuration")
    parser.add_argument("--sizes", default="500x800,224x224,64x64")
    parser.add_argument("--dtypes", default="float32,uint8")
    parser.add_argument("--threads", default="1,all")
    parser.add_argument("--min-ratio", type=float, default=0.97)
    parser.add_argument("--json", type=Path, default=None, help="write every measurement here")
    parser.add_argument("--stat", choices=("median", "best"), default="median",
                        help="bench_render.py's median throughput, or the fastest single call")
    parser.add_argument("--calls-time", type=float, default=1.0,
                        help="with --stat best: seconds of calls per method and build and round")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    for build in (args.old, args.new):
        if not list((build / "torch_render").glob("_C*.so")):
            parser.error(f"{build}: no torch_render/_C*.so; build it with `python setup.py build_ext --inplace`")
    return args, bench_args


def build_env(build: Path) -> dict:
    """The environment whose `import torch_render` is `build`'s package."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(build.resolve()), *paths]))


def imported_from(build: Path) -> str:
    """Where `import torch_render` finds the package with `build`'s environment."""
    done = subprocess.run([sys.executable, "-c", "import torch_render; print(torch_render.__file__)"],
                          env=build_env(build), capture_output=True, text=True, check=True,
                          cwd=tempfile.gettempdir())
    return done.stdout.strip()


def run_bench(build: Path, config: list[str], bench_args: list[str]) -> list[dict]:
    """The throughput rows of one bench_render.py run with `build`'s package."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        env = build_env(build)
        cmd = [sys.executable, str(BENCH), *config, *bench_args, "--json", str(out)]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        return json.loads(out.read_text())["results"]


def best_calls(size: str, dtype_name: str, threads: str, seconds: float) -> list[dict]:
    """--stat best, in the child process: the images/s of the fastest single call of
    the op (fresh output and out=) and of out.fill_, at bench_render's batch."""
    import time

    import torch

    sys.path.insert(0, str(HERE))
    from render_bench.settings import BACKGROUND, DTYPES, default_batch
    from render_bench.windows import Windows

    import torch_render

    height, width = (int(v) for v in size.split("x"))
    dtype = DTYPES[dtype_name]
    if threads != "all":
        torch.set_num_threads(int(threads))
    batch = default_batch(height, width)
    series = Windows(None, False).get(batch).float()
    out = torch.empty(batch, 1, height, width, dtype=dtype)
    methods = {
        "op": lambda: torch_render.render_line(series, height, width, dtype=dtype),
        "op_out": lambda: torch_render.render_line(series, height, width, out=out),
        "fill_out": lambda: out.fill_(BACKGROUND[dtype_name]),
    }
    rows = []
    for name, fn in methods.items():
        fn()
        best, start = float("inf"), time.perf_counter()
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter_ns()
            fn()
            best = min(best, time.perf_counter_ns() - t0)
        rows.append({"method": name, "size": size, "dtype": dtype_name,
                     "threads": torch.get_num_threads(), "images_per_s": batch * 1e9 / best})
    return rows


def run_best(build: Path, config: list[str], seconds: float) -> list[dict]:
    """The rows of best_calls in a fresh process with `build`'s package."""
    size, dtype, threads = config[1], config[3], config[5]
    code = (f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import compare_builds; "
            f"print(json.dumps(compare_builds.best_calls({size!r}, {dtype!r}, {threads!r}, {seconds!r})))")
    done = subprocess.run([sys.executable, "-c", code], env=build_env(build), check=True,
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(done.stdout.strip().splitlines()[-1])


def key(row: dict) -> tuple:
    return (row["method"], row["size"], row["dtype"], row["threads"])


def main(argv: list[str] | None = None) -> dict:
    args, bench_args = parse_args(argv)
    builds = {"old": args.old, "new": args.new}
    for name, build in builds.items():
        found = Path(imported_from(build)).resolve()
        if not found.is_relative_to(build.resolve()):
            sys.exit(f"compare_builds: --{name} {build}: `import torch_render` finds {found} instead")
    samples: dict[tuple, dict[str, list[float]]] = {}
    configs = [(s, d, t) for s in args.sizes.split(",") for d in args.dtypes.split(",")
               for t in args.threads.split(",")]
    for r in range(args.rounds):
        for i, (size, dtype, threads) in enumerate(configs):
            order = ("old", "new") if (r + i) % 2 == 0 else ("new", "old")
            for name in order:
                print(f"round {r + 1}/{args.rounds} {size} {dtype} threads={threads}: {name}",
                      file=sys.stderr, flush=True)
                config = ["--sizes", size, "--dtypes", dtype, "--threads", threads]
                rows = (run_best(builds[name], config, args.calls_time) if args.stat == "best"
                        else run_bench(builds[name], config, bench_args))
                for row in rows:
                    samples.setdefault(key(row), {"old": [], "new": []})[name].append(row["images_per_s"])

    def rev(path: Path) -> str:
        done = subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%h"],
                              capture_output=True, text=True)
        return done.stdout.strip() or str(path)

    print(f"old: {rev(args.old)} ({args.old})   new: {rev(args.new)} ({args.new})   "
          f"rounds: {args.rounds}   statistic: {args.stat}   load average now: {os.getloadavg()[0]:.2f}")
    header = f"{'method':<9} {'size':<8} {'dtype':<8} {'thr':>3}  {'old img/s':>10}  {'new img/s':>10}  {'new/old':>7}  per round"
    print(header)
    print("-" * len(header))
    rows = []
    for k in sorted(samples, key=lambda k: (k[1], k[2], str(k[3]), k[0])):
        old, new = samples[k]["old"], samples[k]["new"]
        per_round = [n / o for o, n in zip(old, new)]
        ratio = statistics.median(per_round)
        ours = k[0] in TORCH_RENDER_METHODS
        flag = "" if not ours else ("ok" if ratio >= args.min_ratio else f"< {args.min_ratio}")
        rows.append({"method": k[0], "size": k[1], "dtype": k[2], "threads": k[3],
                     "old": old, "new": new, "ratio": ratio, "torch_render": ours})
        print(f"{k[0]:<9} {k[1]:<8} {k[2]:<8} {k[3]:>3}  {statistics.median(old):>10.0f}  "
              f"{statistics.median(new):>10.0f}  {ratio:>7.3f}  "
              f"{' '.join(f'{x:.2f}' for x in per_round)}  {flag}")
    ours = [r for r in rows if r["torch_render"]]
    below = [r for r in ours if r["ratio"] < args.min_ratio]
    print(f"torch_render rows at >= {args.min_ratio}x: {len(ours) - len(below)}/{len(ours)}; "
          f"median ratio {statistics.median(r['ratio'] for r in ours):.3f}")
    result = {"old": str(args.old), "new": str(args.new), "rounds": args.rounds, "stat": args.stat,
              "bench_args": bench_args, "rows": rows}
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
