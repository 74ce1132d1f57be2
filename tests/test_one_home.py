"""One home per rule: the rules that were written several times, differently (issue 12,
item 5), are defined once, and the copies do not come back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = [p for d in ("kg", "recommender", "scripts") for p in (ROOT / d).rglob("*.py")]
HOMES = {
    "SIGNAL_WORDS": "recommender/words.py", "DIRECTION_WORDS": "recommender/words.py",
    "MODULE_LABELS": "recommender/words.py", "STATUS_WORDS": "recommender/words.py",
    "MODULES": "recommender/types.py", "CCC_SECTIONS": "kg/ingest/ccc/model.py",
}


def _assigned(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_each_table_of_words_and_codes_is_defined_once():
    where = {}
    for p in CODE:
        for name in _assigned(p) & set(HOMES):
            where.setdefault(name, []).append(str(p.relative_to(ROOT)))
    assert where == {name: [home] for name, home in HOMES.items()}


def test_a_pilot_name_is_never_spelled_out_by_hand():
    """``PilotActivity.display_name`` is the rule (acronym, else title)."""
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in CODE
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
           if re.search(r"\.acronym or\b", line) and p != ROOT / "kg" / "model.py"]
    assert bad == []



def test_no_script_or_module_retypes_the_input_columns():
    """The input tables' columns are ``kg.ingest.tabular.COLUMNS``; a hand-typed copy of one
    table's column list (as ``scripts/build_nzc_dataset.py`` had) would drift from it."""
    from kg.ingest.tabular import COLUMNS

    tables = {tuple(cols) for cols in COLUMNS.values()}
    copies = []
    for p in CODE:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            strings = isinstance(node, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
            if strings and tuple(e.value for e in node.elts) in tables:
                copies.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert copies == []
