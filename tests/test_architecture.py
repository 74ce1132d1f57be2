"""Imports run one way: ontology (files) <- kg <- recommender <- cli/web."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_kg_never_imports_recommender():
    bad = [str(p.relative_to(ROOT)) for p in (ROOT / "kg").rglob("*.py") if "recommender" in _imports(p)]
    assert bad == []


def test_ontology_package_has_no_code_dependencies():
    for p in (ROOT / "ontology").rglob("*.py"):
        assert not (_imports(p) & {"kg", "recommender"}), p


def test_library_modules_do_not_import_the_cli_or_web():
    bad = []
    for p in (ROOT / "recommender").rglob("*.py"):
        rel = p.relative_to(ROOT / "recommender")
        if rel.parts[0] in ("cli.py", "web"):
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("recommender.cli",) or (
                    isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recommender.web")):
                bad.append(str(rel))
    assert bad == []


def test_a_wrong_way_import_is_detected(tmp_path):
    """The check above can fail: a kg-like module importing recommender is caught."""
    f = tmp_path / "x.py"
    f.write_text("from recommender.scoring import score_pairs\n")
    assert "recommender" in _imports(f)


def test_cli_help_does_not_import_heavy_libraries():
    code = ("import sys; from recommender.cli import build_parser; build_parser(); "
            "import kg; print(sorted(m for m in ('torch','sentence_transformers','faiss') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_the_sparql_lexer_needs_only_the_standard_library():
    """kg.store can use kg.sparql_text without the endpoint or the web stack."""
    assert _imports(ROOT / "kg" / "sparql_text.py") <= set(sys.stdlib_module_names)


def test_a_query_worker_imports_only_its_module():
    """A worker boots kg.endpoint.worker alone: no kg/__init__ (rdflib), no kg/endpoint/__init__
    (starlette), which would triple the cost of every worker start."""
    from kg.endpoint.pool import _WORKER_BOOT

    boot = _WORKER_BOOT.replace("_worker_main()", "print(' '.join(sorted(sys.modules)))")
    assert boot != _WORKER_BOOT
    res = subprocess.run([sys.executable, "-c", boot, "{}", str(ROOT / "kg")], capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT)})
    loaded = set(res.stdout.split())
    assert {m for m in loaded if m.split(".")[0] == "kg"} == {"kg", "kg.endpoint", "kg.endpoint.worker"}
    assert not loaded & {"starlette", "anyio", "rdflib", "pyoxigraph"}  # pyoxigraph: lazily, in _worker_main
