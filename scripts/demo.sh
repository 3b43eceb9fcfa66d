#!/usr/bin/env bash
# The main job: builds torch_render, renders a batch of price windows (a seeded
# synthetic generator, or --csv PATH for a kline file), writes a PNG contact
# sheet and prints images/s. Extra arguments go to `python -m torch_render render`.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
install_requirements requirements/run.txt
exec "$PY" -m torch_render render "$@"
