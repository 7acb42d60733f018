"""The import contract: which package may import which, read from the source (no import is run).

    core/   settings, errors, models, languages, sentences, words: imports no other package of the project
    index/  the write path: imports core only
    rag/    the read path: core, and index only through its public API (`index`, `index.postgres`)
    ui/     the app: core, rag, and index through its public API
    eval/   measures all of them; no product package imports it (`rag eval` is an entry-point plugin)
Nowhere is a `_private` name imported from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "index", "rag", "ui", "eval")
ALLOWED = {
    "core": {"core"},
    "index": {"core", "index"},
    "rag": {"core", "rag", "index"},
    "ui": {"core", "rag", "index", "ui"},
    "eval": {"core", "rag", "index", "ui", "eval"},
    "tests": {"core", "rag", "index", "ui", "eval", "tests"},
}
PUBLIC = {"index", "index.postgres"}       # what the read path and the app may import of the write path


def violations(package: str, module: str, source: str) -> list[str]:
    """The contract's breaches in one module's source: wrong-way imports and imported private names.

    >>> violations("index", "index.build", "from rag.retriever import get_retriever")
    ['index.build imports rag.retriever: index may import core, index']
    >>> violations("rag", "rag.retriever", "from index.snapshot import load")
    ['rag.retriever imports index.snapshot: only index, index.postgres are public']
    >>> violations("eval", "eval.sets", "from eval.harness import _indexed")
    ['eval.sets imports the private name _indexed of eval.harness']
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [(node.module, [a.name for a in node.names])]
        else:
            continue
        for target, names in targets:
            top = target.split(".")[0]
            if top not in PACKAGES + ("tests",):
                continue
            if top not in ALLOWED[package]:
                found.append(f"{module} imports {target}: {package} may import {', '.join(sorted(ALLOWED[package]))}")
            elif package in ("rag", "ui") and top == "index" and target not in PUBLIC:
                found.append(f"{module} imports {target}: only {', '.join(sorted(PUBLIC))} are public")
            found += [f"{module} imports the private name {n} of {target}" for n in names
                      if n.startswith("_") and not n.startswith("__") and target != module]
    return found


def _modules():
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield package, module, path


def test_the_import_contract_holds():
    found = [v for package, module, path in _modules()
             for v in violations(package, module, path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("package, line", [
    ("core", "from rag.settings import Settings"),
    ("index", "import rag.retriever"),
    ("rag", "from eval.harness import main"),
    ("rag", "from index.build import build_index"),
    ("ui", "from index.snapshot import load"),
    ("rag", "from rag.retriever import _LOADING"),
])
def test_the_contract_check_catches_each_kind_of_breach(package, line):
    assert violations(package, f"{package}.x", line), line


def test_lazy_exports_point_at_public_modules():
    """`rag` and `index` export names by module path strings, which the import check cannot see."""
    import index
    import rag
    assert set(rag._EXPORTS.values()) <= {"rag.retriever", "rag.types", "rag.assistant", "core.settings", "index"}
    assert all(m.startswith("index.") for m in index._EXPORTS.values())
    for name in rag.__all__ + index.__all__:
        assert getattr(rag if name in rag.__all__ else index, name) is not None


def test_the_names_settings_accept_are_the_registered_parts():
    """Settings validate names without importing the parts; the registries must list the same names."""
    from core import settings
    from index.backends import BACKENDS
    from index.store import STORES
    from rag.checks import CHECKS
    assert tuple(CHECKS) == settings.CHECK_NAMES
    assert tuple(BACKENDS) == settings.BACKENDS
    assert settings.ANN == ("auto", *STORES)
