"""scripts/synth.py: deterministic, valid tabular data with planted pairs that are eligible."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import synth  # noqa: E402

N = 200


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("synth")
    synth.write(synth.generate(N, seed=5), d)
    return d


def test_same_seed_gives_identical_files(tmp_path, synth_dir):
    assert synth.main(["--cities", str(N), "--seed", "5", "--out", str(tmp_path / "a")]) == 0
    assert _files(tmp_path / "a") == _files(synth_dir)


def test_other_seed_gives_other_files(tmp_path, synth_dir):
    synth.write(synth.generate(N, seed=6), tmp_path / "b")
    other = _files(tmp_path / "b")
    assert other.keys() == _files(synth_dir).keys()
    assert all(other[name] != data for name, data in _files(synth_dir).items())


def test_output_has_the_documented_shape(synth_dir):
    assert {p.name for p in synth_dir.iterdir()} == {
        "cities.csv", "pilots.csv", "twins.csv", "narratives.csv", "planted.csv"}
    cities = _rows(synth_dir / "cities.csv")
    pilots = _rows(synth_dir / "pilots.csv")
    twins = _rows(synth_dir / "twins.csv")
    narratives = _rows(synth_dir / "narratives.csv")
    assert len(cities) == N
    assert len({c["name"].casefold() for c in cities}) == N          # names are unique
    assert len(pilots) == N // 20 and len(twins) == N // 20
    assert any(";" in p["cities"] for p in pilots) or N < 100         # some multi-city pilots
    words = [len(n["text"].split()) for n in narratives]
    assert len(narratives) == len(pilots) + len(twins)
    assert min(words) >= 40 and max(words) <= 100


def test_output_validates_with_load_sources(synth_dir):
    from kg.build import load_sources

    g = load_sources([synth_dir])       # row checks, concept codes, SHACL
    assert len(g) > 10 * N


def test_planted_pairs_resolve_and_are_eligible(synth_dir):
    from kg.build import build
    from kg.catalog import catalog
    from recommender.evaluate import read_pairings

    cat = catalog(build([synth_dir], backend="oxigraph"))
    pairs, skipped = read_pairings(synth_dir / "planted.csv", cat)
    assert skipped == []
    assert len(pairs) == len(cat.twins)
    for p in pairs:
        assert p.pilot in {c.id for c in cat.candidates_for(cat.twins[p.twin])}
