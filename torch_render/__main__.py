"""``python -m torch_render``: the command line (see ``torch_render.cli``)."""

from torch_render.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
