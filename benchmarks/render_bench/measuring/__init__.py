"""Measuring: the timing loop, and the throughput, memory, GPU and geometry sections."""
