"""Imports run one way: ontology (files) <- kg <- recommender <- cli/web; inside recommender/,
along ``LAYERS``, with no cycle (imports inside functions count); recommender uses only what
kg's modules export."""

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
        if rel.parts[0] in ("cli", "web"):
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recommender.cli") or (
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


def test_the_result_writer_needs_only_the_standard_library():
    """A query worker writes its results with kg.sparql_formats, so it must not pull in rdflib."""
    assert _imports(ROOT / "kg" / "sparql_formats.py") <= set(sys.stdlib_module_names)


def test_one_prefix_table():
    """kg.namespaces re-exports the table of kg.sparql_formats, and it names the ontology's own
    namespaces as the generated classes do."""
    from kg import namespaces, sparql_formats

    assert namespaces.PREFIXES is sparql_formats.PREFIXES
    for prefix, ns in {"pl": namespaces.PL, "dom": namespaces.DOM, "lev": namespaces.LEV,
                       "bar": namespaces.BAR, "sol": namespaces.SOL, "mod": namespaces.MOD,
                       "data": namespaces.DATA}.items():
        assert sparql_formats.PREFIXES[prefix] == str(ns)


def test_a_query_worker_imports_only_its_module():
    """A worker boots kg.endpoint.worker alone: no kg/__init__ (rdflib), no kg/endpoint/__init__
    (starlette), which would triple the cost of every worker start."""
    from kg.endpoint.pool import _WORKER_BOOT

    boot = _WORKER_BOOT.replace("_worker_main()", "print(' '.join(sorted(sys.modules)))")
    assert boot != _WORKER_BOOT
    res = subprocess.run([sys.executable, "-c", boot, "{}", str(ROOT / "kg")], capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT)})
    loaded = set(res.stdout.split())
    assert {m for m in loaded if m.split(".")[0] == "kg"} == {"kg", "kg.endpoint", "kg.endpoint.worker",
                                                                  "kg.sparql_formats"}
    assert not loaded & {"starlette", "anyio", "rdflib", "pyoxigraph"}  # pyoxigraph: lazily, in _worker_main


# ------------------------------------------------------------------ layers inside recommender/
# Lowest first. A module imports modules of its own layer or lower ones, never a higher one;
# every module of recommender/ is listed (a new one must be placed).
LAYERS = (
    ("types", "words", "places", "phrases"),                              # vocabulary, words, facts of places
    ("scoring",),                                                         # the signals (their names: weights)
    ("weights", "settings"),                                              # configuration
    ("provenance", "embeddings", "index", "graph", "tagging", "profiles", "contract_extract"),  # building blocks
    ("grounding",),                                                       # passages each side's words give
    ("similarity", "candidates", "assignment", "topics", "journey",       # solvers,
     "narratives", "search", "feedback"),                                 # graph write-back, search
    ("matcher", "evaluate", "fit"),                                       # matching over a catalog
    ("result", "profile_view"),                                           # one run's result, one profile: computed once
    ("europe", "europe.profiles", "europe.rank", "europe.names", "europe.load",  # every GCoM signatory
     "europe.mission", "europe.evaluate"),
    ("tables",),                                                          # rows of a run's tables
    ("reports.brief",),                                                   # the A4 pair brief
    ("reports", "reports.pdf", "outputs", "export"),                      # formats of the result
    ("pipeline",),                                                        # runs the stages
    ("web", "web.pages", "web.warmup", "web.feedback", "web.recruit", "cli", "cli.common", "cli.graph",
     "cli.matching", "cli.corpus", "cli.publish", "cli.europe", "cli.parser"),                # interfaces
)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, package: str = "recommender") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, anywhere in the file (top level, inside
    functions, under ``if TYPE_CHECKING``); relative imports resolved, ``from a import b``
    counted as ``a.b`` when ``b`` is a module."""
    files = {_module_name(p, root): p for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    here = here[:len(here) - node.level + 1]
                    base = ".".join(here + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in files:      # `import a.b.c` of a name, not a module: its module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    deps.add(t)
        graph[mod] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]`` when the graph has none."""
    state: dict[str, int] = {}          # 1 on the current path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        path.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return []


def layer_violations(graph: dict[str, set[str]], layers, package: str = "recommender") -> list[str]:
    """``a -> b`` for every import of a higher layer, and every module not placed in a layer."""
    rank = {f"{package}.{m}": i for i, names in enumerate(layers) for m in names}
    bad = [f"{m} is in no layer" for m in sorted(graph) if m != package and m not in rank]
    for m, deps in sorted(graph.items()):
        for d in sorted(deps):
            if m in rank and d in rank and rank[d] > rank[m]:
                bad.append(f"{m} -> {d}")
    return bad


def test_recommender_layers_are_ordered():
    graph = import_graph(ROOT)
    assert layer_violations(graph, LAYERS) == []
    listed = [m for names in LAYERS for m in names]
    assert len(listed) == len(set(listed))
    assert {f"recommender.{m}" for m in listed} <= set(graph), "a layer names a module that is gone"


def test_recommender_has_no_import_cycle():
    assert find_cycle(import_graph(ROOT)) == []


def test_the_layer_and_cycle_checks_fail_on_a_planted_violation(tmp_path):
    """A cycle hidden in a function-level import, and a lower layer importing a higher one."""
    pkg = tmp_path / "recommender"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from recommender.high import g\n    return g\n")
    (pkg / "high.py").write_text("from recommender.low import f\n\ng = f\n")
    graph = import_graph(tmp_path)
    assert graph["recommender.low"] == {"recommender.high"}
    assert find_cycle(graph) == ["recommender.high", "recommender.low", "recommender.high"]
    assert layer_violations(graph, (("low",), ("high",))) == ["recommender.low -> recommender.high"]
    assert layer_violations(graph, (("low",),)) == ["recommender.high is in no layer"]
    # relative imports and `from package import module` are resolved too
    (pkg / "high.py").write_text("from . import low\n")
    (pkg / "low.py").write_text("from .high import g\n")
    assert find_cycle(import_graph(tmp_path)) == ["recommender.high", "recommender.low", "recommender.high"]


# ------------------------------------------------------------------ recommender -> kg surface
# A kg module's exports are its ``__all__`` when it defines one, else its top-level names
# without a leading underscore (and its submodules without one). No module path may have a
# part with a leading underscore.

def _kg_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for p in (base / "__init__.py", base.with_suffix(".py")):
        if p.is_file():
            return p
    return None


def kg_exports(root: Path, module: str) -> set[str]:
    path = _kg_file(root, module)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    if path.name == "__init__.py":
        names |= {p.stem if p.suffix else p.name for p in path.parent.iterdir()
                  if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    return {n for n in names if not n.startswith("_")}


def private_kg_imports(root: Path, package: str = "recommender") -> list[str]:
    """``file: kg.module.name`` for every import from kg of a name kg does not export."""
    bad = []
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                uses = [(a.name, None) for a in node.names if a.name.split(".")[0] == "kg"]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "kg":
                uses = [(node.module, a.name) for a in node.names]
            else:
                continue
            for module, name in uses:
                if any(part.startswith("_") for part in module.split(".")) or _kg_file(root, module) is None:
                    bad.append(f"{rel}: {module}")
                elif name is not None and name not in kg_exports(root, module):
                    bad.append(f"{rel}: {module}.{name}")
    return bad


def test_recommender_imports_only_what_kg_exports():
    assert private_kg_imports(ROOT) == []


def test_a_private_kg_import_is_detected(tmp_path):
    (tmp_path / "kg" / "sub").mkdir(parents=True)
    (tmp_path / "kg" / "__init__.py").write_text("")
    (tmp_path / "kg" / "open.py").write_text("import os\n\nLIMIT = 1\n_SECRET = 2\n\ndef f():\n    pass\n")
    (tmp_path / "kg" / "sub" / "__init__.py").write_text('__all__ = ["g"]\n\ndef g():\n    pass\n\ndef h():\n    pass\n')
    (tmp_path / "kg" / "_inner.py").write_text("X = 1\n")
    (tmp_path / "recommender").mkdir()
    (tmp_path / "recommender" / "ok.py").write_text("import kg.open\nfrom kg.open import LIMIT, f\nfrom kg.sub import g\n")
    assert private_kg_imports(tmp_path) == []
    (tmp_path / "recommender" / "bad.py").write_text(
        "from kg.open import _SECRET\n\ndef later():\n    from kg.sub import h\n    from kg._inner import X\n")
    assert private_kg_imports(tmp_path) == ["recommender/bad.py: kg.open._SECRET", "recommender/bad.py: kg.sub.h",
                                            "recommender/bad.py: kg._inner"]
