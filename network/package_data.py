"""Where crossnet's own data lives: the Jinja templates, the price tables and the
CrossGuard pack (pure).

In a checkout (or an editable install of one) they are the top-level
`templates/`, `data/prices/` and `policy/` directories. An installed crossnet
(`pip install .`) ships them as package data of the mapped packages
`network._templates`, `network._prices` and `network._policy` (see setup.py),
read through `importlib.resources`. Installs must be unpacked (no zip imports):
Jinja's loader and the Pulumi policy pack need real directories.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

# name -> (package it ships as, directory in a checkout)
DATA = {
    "templates": ("network._templates", "templates"),
    "prices": ("network._prices", "data/prices"),
    "policy": ("network._policy", "policy"),
}
_CHECKOUT = Path(__file__).resolve().parent.parent


def is_checkout() -> bool:
    """Whether this `network` package runs from a source tree (editable or not installed)."""
    return (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "Pulumi.yaml").is_file()


def data_dir(name: str) -> Path:
    """The directory of `templates`, `prices` or `policy`."""
    package, source = DATA[name]
    if is_checkout():
        return _CHECKOUT / source
    root = importlib.resources.files(package)
    if isinstance(root, Path):
        return root
    # a data directory has no __init__.py: a namespace package, whose files() is a
    # MultiplexedPath over its (single) directory
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise FileNotFoundError(f"crossnet's {name} are not installed ({package})")
    return Path(locations[0])
