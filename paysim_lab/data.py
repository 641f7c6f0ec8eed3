"""The scenarios and policies bundled with paysim_lab (the repository's ``data/`` folder).

Names are file names without extension; policies in sub-folders are named with their folder
(``test_policies/test_always_hold``) and can also be asked for by their bare name when that is
unambiguous.

>>> import paysim_lab as psl
>>> psl.data.policy_path("fifo").name
'fifo.json'
>>> "fifo" in psl.data.list_policies()
True
"""
from __future__ import annotations

from pathlib import Path

def _find_data_dir() -> Path:
    # An installed wheel carries the files as paysim_lab/_data; a source checkout (editable
    # install, or the repository on sys.path) keeps them in the top-level data/ folder.
    package = Path(__file__).resolve().parent
    for candidate in (package / "_data", package.parent / "data"):
        if (candidate / "scenarios").is_dir():
            return candidate
    return package / "_data"


DATA_DIR = _find_data_dir()

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
POLICY_SUFFIXES = (".json",)
PAYMENTS_SUFFIXES = (".csv", ".parquet")


def data_dir() -> Path:
    """The bundled data folder (``data/`` of a checkout, ``paysim_lab/_data`` when installed).

    >>> (data_dir() / "scenarios").is_dir()
    True
    """
    return DATA_DIR


def scenarios_dir() -> Path:
    return DATA_DIR / "scenarios"


def policies_dir() -> Path:
    return DATA_DIR / "policies"


def payments_dir() -> Path:
    """The bundled payments tables (``data/payments``)."""
    return DATA_DIR / "payments"


def payments_path(name: str) -> Path:
    """Path of a bundled payments table by name (with or without extension).

    >>> payments_path("example_day").name
    'example_day.csv'
    """
    return _lookup("payments table", name, _catalog(payments_dir(), PAYMENTS_SUFFIXES),
                   PAYMENTS_SUFFIXES)


def _catalog(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """name -> path for every bundled file in ``folder`` (recursively), sorted by name."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in suffixes:
            rel = path.relative_to(folder).with_suffix("")
            found.setdefault(rel.as_posix(), path)
    return dict(sorted(found.items()))


def list_scenarios() -> list[str]:
    """Sorted names of the bundled scenarios.

    >>> "two_bank_teaching" in list_scenarios()
    True
    """
    return list(_catalog(scenarios_dir(), SCENARIO_SUFFIXES))


def list_policies() -> list[str]:
    """Sorted names of the bundled policy files (sub-folder files as ``folder/name``)."""
    return list(_catalog(policies_dir(), POLICY_SUFFIXES))


def _lookup(kind: str, name, catalog: dict[str, Path], suffixes: tuple[str, ...]) -> Path:
    key = str(name).replace("\\", "/")
    for suffix in suffixes:
        if key.lower().endswith(suffix):
            key = key[: -len(suffix)]
            break
    if key in catalog:
        return catalog[key]
    by_stem = [n for n in catalog if n.rsplit("/", 1)[-1] == key]
    if len(by_stem) == 1:
        return catalog[by_stem[0]]
    available = ", ".join(catalog) if catalog else "(none)"
    if len(by_stem) > 1:
        raise FileNotFoundError(f"bundled {kind} name {name!r} is ambiguous: "
                                f"{', '.join(by_stem)}")
    raise FileNotFoundError(f"no bundled {kind} named {name!r}; available: {available}")


def scenario_path(name) -> Path:
    """Path of a bundled scenario, by name with or without extension.

    Raises FileNotFoundError listing the available names when there is no such scenario.

    >>> scenario_path("advanced_policy_crisis").name
    'advanced_policy_crisis.yaml'
    """
    return _lookup("scenario", name, _catalog(scenarios_dir(), SCENARIO_SUFFIXES),
                   SCENARIO_SUFFIXES)


def policy_path(name) -> Path:
    """Path of a bundled policy file, by name with or without ``.json``.

    >>> policy_path("deadline.json").name
    'deadline.json'
    """
    return _lookup("policy", name, _catalog(policies_dir(), POLICY_SUFFIXES), POLICY_SUFFIXES)


# synthetic_scenario(...) (generated scenarios of any size) lives here too; added separately.
