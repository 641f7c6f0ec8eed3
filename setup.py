"""Build configuration that pyproject.toml cannot express.

The bundled scenarios, policies and payment tables live in the repository's top-level
``data/`` folder (where users and docs expect them); the wheel carries that folder as
``paysim_lab/_data`` so an installed paysim_lab finds them from any working directory.
"""
from setuptools import find_namespace_packages, find_packages, setup

DATA_PACKAGES = ["paysim_lab._data"] + [f"paysim_lab._data.{name}"
                                        for name in find_namespace_packages(where="data")]
DATA_FILES = ["*.yaml", "*.yml", "*.json", "*.csv", "*.parquet", "*.md"]

setup(
    packages=find_packages(include=["paysim_lab", "paysim_lab.*"]) + DATA_PACKAGES,
    package_dir={"paysim_lab._data": "data"},
    package_data={"paysim_lab": ["py.typed"], **{name: DATA_FILES for name in DATA_PACKAGES}},
    # An editable install puts the checkout itself on sys.path (instead of an import hook
    # that Python consults last), so starting Python in the folder that holds a clone named
    # paysim_lab still imports the package, not the clone folder as an empty namespace.
    # setuptools calls this mode transitional; .ci/check_install.sh checks the behaviour, so
    # a release that drops it shows up there first.
    options={"editable_wheel": {"mode": "compat"}},
)
