"""The report: the tables (plain text or Markdown) with their notes, in the order they print."""

from __future__ import annotations

from typing import Optional, Sequence

from ..settings import CV2_THICKNESS, LINE_WIDTH, WINDOW


def fmt_rate(x: Optional[float]) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def fmt_ratio(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.2f}x"


def fmt_load(x) -> str:
    return "n/a" if not x else ", ".join(f"{v:.2f}" for v in x)


def fmt_bytes(x: Optional[int]) -> str:
    if x is None:
        return "n/a"
    return f"{x:,} B"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool,
                 right: Sequence[bool] = ()) -> str:
    right = list(right) + [False] * (len(headers) - len(right))
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if r else "---" for r in right) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(wd) if r else c.ljust(wd) for c, wd, r in zip(cells, widths, right)).rstrip()

    return "\n".join([line(headers), line(["-" * wd for wd in widths])] + [line(r) for r in rows])



def bullets(notes: Sequence[str], markdown: bool) -> str:
    """Notes under a table: Markdown list items, or indented '*' lines."""
    return "\n".join(("- " if markdown else "  * ") + n for n in notes)


def format_report(res: dict, markdown: bool) -> str:
    """The whole report: machine, throughput, targets, memory (when measured), GPU,
    geometry check (when run)."""
    h = "### " if markdown else "== "
    parts = []
    for section in (format_machine, format_throughput, format_targets, format_memory, format_gpu,
                    format_geometry):
        parts += section(res, markdown, h)
    return "\n\n".join(parts) + "\n"


def format_machine(res: dict, markdown: bool, h: str) -> list[str]:
    m = res["machine"]
    parts = [f"{h}Machine"]
    mem = f"{m['memory_bytes'] / 2**30:.1f} GiB" if m["memory_bytes"] else "?"
    info = [
        f"CPU: {m['cpu']}, {m['logical_cpus']} logical CPUs (torch default threads {m['torch_threads_default']}), "
        f"RAM {mem}",
        f"GPU: {m['gpu'] or 'none'}",
        f"torch_render: git {m['git'] or '?'}, library built {m['library_built'] or '?'}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v is not None),
        f"transparent huge pages: {m['transparent_hugepage']}; THP_MEM_ALLOC_ENABLE="
        f"{m['thp_mem_alloc_enable'] or 'unset'}",
        f"data: {res['config']['data']}; windows of {WINDOW} closes, line width {LINE_WIDTH:g} px, antialiased",
        f"load average (1, 5, 15 min) at start: {fmt_load(m['loadavg'])}, at end: {fmt_load(res.get('loadavg_end'))}"
        " (other processes on the machine distort the timings)",
        f"command: {res['config']['command']}",
    ]
    parts.append("\n".join(("- " if markdown else "  ") + s for s in info))
    return parts


def format_throughput(res: dict, markdown: bool, h: str) -> list[str]:
    parts = []
    parts.append(f"{h}Throughput (CPU, median of {res['config']['repeats']} measurements of "
                 f">= {res['config']['min_time']:g} s each" + (", --quick: 1 step)" if
                                                              res['config']['quick'] else ")"))
    headers = ["size", "dtype", "threads", "method", "images/s", "x fill-out floor", "x fresh-fill floor",
               "x fastest peer"]
    rows = []
    for r in res["results"]:
        rows.append([r["size"], r["dtype"], str(r["threads"]), r["label"], fmt_rate(r["images_per_s"]),
                     fmt_ratio(r["x_fill_out"]), fmt_ratio(r["x_fill_fresh"]), fmt_ratio(r["x_fastest_peer"])])
    parts.append(render_table(headers, rows, markdown, right=[False] * 4 + [True] * 4))
    notes = [
        "batch: images per call of the batched methods (torch_render, floors, scatter) and the "
        "slots of the reused output of the per-image peers: "
        + ", ".join(f"{s} B={b}" for s, b in res["config"]["batches"].items()),
        "fill-out floor = out.fill_(bg) on a reused buffer; fresh-fill floor = torch.empty(...).fill_(bg) "
        "(a new tensor per call, as the op's fresh output); np.empty().fill is shown for context "
        "(NumPy asks the kernel for huge pages, torch does not unless THP_MEM_ALLOC_ENABLE=1)",
        "fastest peer = the fastest non-torch_render, non-floor method of the same size/dtype/threads group",
        "per-image peers (matplotlib, cairo, Pillow, OpenCV) draw one image at a time in a Python loop "
        "(time per image = total / images) into a reused [B, H, W] output, with the conversion of their 8-bit "
        "gray or RGBA image to the requested output (gray float32 in [0, 1] or uint8) inside the timed loop; "
        "they use no threads (in the multi-thread rows only torch ops get n threads, and cv2.setNumThreads(n) "
        "is set but its drawing is single-threaded)",
        f"OpenCV uses thickness={CV2_THICKNESS} (its thickness=3 inks ~4.5 px; thickness=2 inks about as much as a "
        "3-px line, see the geometry check); sub-pixel points (shift=4); LINE_AA on float32 output draws uint8 "
        "and converts (OpenCV antialiases 8-bit images only)",
        "replaced scatter = the replaced pipeline's algorithm (16 interpolated points per segment, a 3x3 block "
        "stamped at each rounded point) with torch ops, vectorised over the batch, into a reused output",
    ]
    if res["skipped"]:
        notes.append("skipped: " + "; ".join(f"{k}: {v}" for k, v in res["skipped"].items()))
    parts.append(bullets(notes, markdown))
    return parts


def format_targets(res: dict, markdown: bool, h: str) -> list[str]:
    parts = []
    parts.append(f"{h}Targets (issue #4; median, same run)")
    trows = [[t["target"], "" if t["ratio"] is None else f"{t['ratio']:.2f}x", f">= {t['bound']:g}x",
              t["status"]] for t in res["targets"]]
    parts.append(render_table(["target", "measured", "required", "status"], trows, markdown,
                              right=[False, True, True, False]))
    return parts


def format_memory(res: dict, markdown: bool, h: str) -> list[str]:
    parts = []
    if res.get("memory"):
        parts.append(f"{h}Memory: peak extra memory of one call beyond the output (CPU)")
        mrows = [[r["size"], r["dtype"], str(r["batch"]), fmt_bytes(r["output_bytes"]),
                  fmt_bytes(r["profiler_out"]), fmt_bytes(r["profiler_fresh"]), fmt_bytes(r["rss_out"]),
                  fmt_bytes(r["rss_fresh"]), fmt_bytes(r["bound_bytes"]), "yes" if r["ok"] else "NO"]
                 for r in res["memory"]]
        parts.append(render_table(
            ["size", "dtype", "B", "output", "torch alloc out=", "torch alloc fresh", "RSS out=", "RSS fresh",
             "bound B*S*L*4+L*4", "torch alloc <= bound"], mrows, markdown,
            right=[False, False, True] + [True] * 6 + [False]))
        parts.append(bullets([
            "torch alloc: peak of the running sum of the torch CPU allocator's allocations during one call "
            "(torch.profiler, profile_memory=True), minus the output for the fresh call",
            "RSS: growth of the peak resident set (VmHWM after resetting it through /proc/self/clear_refs) over "
            "one call, each in a fresh process, after a warm-up call on one 8x8 image (so it includes the growth of "
            "per-thread scratch that later calls reuse), "
            f"minus the output for the fresh call; page granularity; threads: {res['memory'][0]['threads']}"
            + ("; not measured in --quick" if res["config"]["quick"] else ""),
        ], markdown))
    return parts


def format_gpu(res: dict, markdown: bool, h: str) -> list[str]:
    parts = []
    gpu = res.get("gpu", {})
    parts.append(f"{h}GPU")
    if gpu.get("rows"):
        grows = []
        for r in gpu["rows"]:
            if r["method"] == "skipped":
                grows.append([r["size"], r["dtype"], str(r["batch"]), r["label"], "", "", ""])
                continue
            gbs = f"{r['copy_gbs']:.0f} (r+w)" if r["method"] == "copy" else (
                f"{r['write_gbs']:.0f}" if r["write_gbs"] >= 10 else f"{r['write_gbs']:.2f}")
            grows.append([r["size"], r["dtype"], str(r["batch"]), r["label"], fmt_rate(r["images_per_s"]), gbs,
                          "" if r["fraction_of_copy"] is None else f"{100 * r['fraction_of_copy']:.0f}%"])
        parts.append(f"device: {gpu['device']}")
        parts.append(render_table(["size", "dtype", "B", "method", "images/s", "GB/s", "of copy bandwidth"],
                                  grows, markdown, right=[False, False, True, False, True, True, True]))
        parts.append(bullets(["CUDA events; copy bandwidth counts read + write bytes (2 x bytes / time of "
                              "out.copy_(src)); the op's bandwidth counts the bytes of the output it writes"],
                             markdown))
        if gpu.get("memory"):
            mrows = [[r["size"], r["dtype"], str(r["batch"]), fmt_bytes(r["output_bytes"]),
                      fmt_bytes(r["cuda_out"]), fmt_bytes(r["cuda_fresh"]), fmt_bytes(r["bound_bytes"])]
                     for r in gpu["memory"]]
            parts.append(render_table(["size", "dtype", "B", "output", "CUDA extra out=", "CUDA extra fresh",
                                       "bound"], mrows, markdown, right=[False, False] + [True] * 5))
            parts.append(bullets(["CUDA extra: max_memory_allocated() after reset_peak_memory_stats(), minus "
                                  "what was allocated before and minus the output"], markdown))
    else:
        parts.append(f"skipped: {gpu.get('skipped', 'not run')}")
    return parts


def format_geometry(res: dict, markdown: bool, h: str) -> list[str]:
    parts = []
    if res.get("geometry"):
        parts.append(f"{h}Geometry check (float32, {res['config']['check_images']} windows, not timed)")
        grows = [[r["size"], r["label"], f"{r['mean_abs_diff']:.4f}", f"{r['ink_ratio']:.2f}"]
                 for r in res["geometry"]]
        parts.append(render_table(["size", "method", "mean |diff| vs op", "ink vs op"], grows, markdown,
                                  right=[False, False, True, True]))
        parts.append(bullets(["ink = sum of (1 - value); a method drawing the same 3-px line in the same place "
                              "has a small difference and ink near 1"], markdown))
    return parts
