"""The parts of benchmarks/bench_render.py, by concern (see benchmarks/README.md, "Code layout").

- ``settings``: what every method draws and the default run (sizes, batches, line width)
- ``targets``: the issue's speed and memory targets, as data
- ``windows``: the price windows every method draws
- ``methods``: the ways of producing images (the op, the floors, the peers) and their registry
- ``measuring``: the timing loop and the throughput, memory, GPU and geometry sections
- ``report``: the machine description, the ratios, the target verdicts, the tables and the files
"""
