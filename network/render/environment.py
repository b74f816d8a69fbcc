"""The one Jinja environment every template is rendered with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from network.package_data import data_dir
from network.render.filters import FILTERS

TEMPLATE_DIR = data_dir("templates")


def make_environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    """StrictUndefined (a missing value is an error, never an empty string),
    trim_blocks/lstrip_blocks (block tags leave no blank lines), and only the
    filters of network.render.filters."""
    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # router configs, not HTML
    )
    env.filters.update(FILTERS)
    return env


@lru_cache(maxsize=4)
def environment(template_dir: Path = TEMPLATE_DIR) -> Environment:
    """The shared environment (templates compiled once per process)."""
    return make_environment(template_dir)
