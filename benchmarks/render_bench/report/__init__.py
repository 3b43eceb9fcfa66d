"""Report: the machine, the ratios, the target verdicts, the tables and the files."""
