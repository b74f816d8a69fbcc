"""Packaging: crossnet's own data ships inside the `network` package.

The checkout's layout is fixed (`templates/`, `data/prices/` and `policy/` stay
at the top level, where `pulumi up` and the docs expect them), so each is mapped
onto a sub-package of `network` that holds it as package data; the code reads
them through `network.package_data` (importlib.resources once installed).
Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

# package -> directory in the checkout, and the files it ships
DATA = {
    "network._templates": ("templates", ["**/*"]),
    "network._prices": ("data/prices", ["*.yaml"]),
    # the pack itself, not a virtualenv someone made inside policy/
    "network._policy": ("policy", ["*.py", "*.yaml", "*.txt"]),
}

setup(
    packages=[*find_packages(include=["network", "network.*"]), *DATA],
    package_dir={pkg: src for pkg, (src, _) in DATA.items()},
    package_data={
        **{pkg: files for pkg, (_, files) in DATA.items()},
        # crossnet's own TextFSM templates, for the commands ntc-templates has none for
        "network.devices": ["templates/*.textfsm"],
    },
    exclude_package_data={pkg: ["**/__pycache__/*", "*.pyc"] for pkg in DATA},
)
