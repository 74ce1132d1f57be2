"""Readers: the tabular format (CSV folder, YAML, JSON) and RDF files, good and bad input."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from kg.build import load_sources
from kg.errors import InputError
from kg.ingest.rdf import read_rdf
from kg.ingest.tabular import TABLES


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _as_document(mini_dir):
    return {t: _rows(mini_dir / f"{t}.csv") for t in TABLES}


class TestGoodInput:
    def test_csv_folder(self, mini_dir):
        g = load_sources([mini_dir])
        assert len(g) > 100

    def test_yaml_and_json_give_the_same_graph_as_csv(self, mini_dir, tmp_path):
        from rdflib.compare import isomorphic

        doc = _as_document(mini_dir)
        y = tmp_path / "data.yaml"
        y.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        j = tmp_path / "data.json"
        j.write_text(json.dumps(doc), encoding="utf-8")
        ref = load_sources([mini_dir])
        assert isomorphic(load_sources([y]), ref)
        assert isomorphic(load_sources([j]), ref)

    def test_yaml_lists_are_accepted_for_list_fields(self, mini_dir, tmp_path):
        doc = _as_document(mini_dir)
        doc["pilots"][1]["cities"] = ["southby", "eastwick"]
        y = tmp_path / "d.yaml"
        y.write_text(yaml.safe_dump(doc), encoding="utf-8")
        assert len(load_sources([y])) == len(load_sources([mini_dir]))

    def test_turtle_roundtrip(self, mini_dir, tmp_path):
        g = load_sources([mini_dir])
        ttl = tmp_path / "data.ttl"
        ttl.write_text(g.serialize(format="turtle"), encoding="utf-8")
        nt = tmp_path / "data.nt"
        nt.write_text(g.serialize(format="nt"), encoding="utf-8")
        jl = tmp_path / "data.jsonld"
        jl.write_text(g.serialize(format="json-ld"), encoding="utf-8")
        for f in (ttl, nt, jl):
            assert len(load_sources([f])) == len(g)

    def test_stated_wins_over_inferred_for_the_same_concept(self, mini_catalog):
        p2 = mini_catalog.pilots["P2"]
        status = {link.concept.rsplit("/", 1)[-1]: link.status for link in p2.domains}
        assert status == {"energy": "stated", "buildings": "inferred"}


def _edit_csv(path, fn):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = fn(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _set(table, row, col, value):
    def fn(rows):
        i = rows[0].index(col)
        rows[row][i] = value
        return rows
    return table, fn


def _drop_col(table, col):
    def fn(rows):
        i = rows[0].index(col)
        return [r[:i] + r[i + 1:] for r in rows]
    return table, fn


BAD = {
    "missing-column": (_drop_col("pilots", "title"), "pilots.csv, row 1, field title: missing required column"),
    "unknown-concept": (_set("pilots", 1, "domains_stated", "buildings;teleportation"),
                        "pilots.csv, row 2, field domains_stated: unknown domain concept 'teleportation'"),
    "duplicate-id": (_set("pilots", 2, "id", "P1"), "pilots.csv, row 3, field id: duplicate pilot id 'P1'"),
    "unknown-city": (_set("twins", 3, "city", "atlantis"), "twins.csv, row 4, field city: unknown city id 'atlantis'"),
    "bad-number": (_set("cities", 1, "population", "many"), "cities.csv, row 2, field population: 'many' is not a whole number"),
    "bad-country": (_set("cities", 2, "country", "Spain"), "cities.csv, row 3, field country"),
    "latitude-out-of-range": (_set("cities", 1, "latitude", "123"), "cities.csv, row 2, field latitude"),
    "empty-required": (_set("twins", 1, "cohort", ""), "twins.csv, row 2, field cohort: required value is empty"),
    "unknown-subject": (_set("narratives", 1, "subject", "P9"), "narratives.csv, row 2, field subject"),
}


class TestBadInput:
    @pytest.mark.parametrize("case", sorted(BAD))
    def test_one_line_message_names_file_row_and_field(self, mini_dir, case):
        (table, fn), expected = BAD[case]
        _edit_csv(mini_dir / f"{table}.csv", fn)
        with pytest.raises(InputError) as e:
            load_sources([mini_dir])
        msg = str(e.value)
        assert "\n" not in msg
        assert expected in msg
        assert e.value.exit_code == 2

    def test_wrong_encoding(self, mini_dir):
        p = mini_dir / "cities.csv"
        p.write_bytes(p.read_text(encoding="utf-8").replace("Northam", "Nörtham").encode("latin-1"))
        with pytest.raises(InputError, match=r"cities.csv: not valid UTF-8 \(byte 0xf6 at line 2\)"):
            load_sources([mini_dir])

    def test_binary_file(self, mini_dir):
        (mini_dir / "twins.csv").write_bytes(b"\x00\x01\x02binary")
        with pytest.raises(InputError, match="twins.csv: binary file"):
            load_sources([mini_dir])

    def test_unknown_column(self, mini_dir):
        _edit_csv(mini_dir / "twins.csv", lambda rows: [r + ["x"] for r in rows])
        with pytest.raises(InputError, match="twins.csv, row 1, field x: unknown column"):
            load_sources([mini_dir])

    def test_malformed_yaml(self, tmp_path):
        y = tmp_path / "d.yaml"
        y.write_text("cities: [\n  {id: a\n", encoding="utf-8")
        with pytest.raises(InputError, match="d.yaml.*malformed YAML"):
            load_sources([y])

    def test_yaml_aliases_within_bounds_are_read_as_written_out(self, mini_dir, tmp_path):
        from rdflib.compare import isomorphic

        doc = _as_document(mini_dir)
        for t in doc["twins"]:
            t["barriers_stated"] = ["capacity", "financial"]
        plain, aliased = tmp_path / "plain.yaml", tmp_path / "aliased.yaml"
        plain.write_text(yaml.safe_dump(doc), encoding="utf-8")
        # the same list once, then aliases to it, as a user writes shared values
        shared = yaml.safe_dump(doc, default_flow_style=None)
        shared = shared.replace("barriers_stated: [capacity, financial]", "barriers_stated: *b")
        shared = shared.replace("barriers_stated: *b", "barriers_stated: &b [capacity, financial]", 1)
        aliased.write_text(shared, encoding="utf-8")
        assert shared.count("*b") == len(doc["twins"]) - 1
        assert isomorphic(load_sources([aliased]), load_sources([plain]))

    def test_yaml_alias_that_contains_itself(self, tmp_path):
        y = tmp_path / "d.yaml"
        y.write_text("cities:\n  - &c {id: a, name: A, country: NL, alt_names: [x, *c]}\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"d.yaml:2: refused YAML: an alias refers to a node that contains it"):
            load_sources([y])

    @pytest.mark.parametrize("value", ["[x, [y, z]]", "{a: b}"])
    def test_nested_structure_in_a_field(self, tmp_path, value):
        y = tmp_path / "d.yaml"
        y.write_text(f"cities:\n  - {{id: a, name: A, country: NL, alt_names: {value}}}\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"d.yaml, row 1, field alt_names: expected a value or a list of values"):
            load_sources([y])

    @pytest.mark.parametrize("name", ["big.yaml", "big.json"])
    def test_document_over_the_size_limit(self, tmp_path, name):
        from kg.ingest.tabular import MAX_DOCUMENT_BYTES

        big = tmp_path / name
        with open(big, "wb") as f:
            f.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: the size is refused before reading
        with pytest.raises(InputError, match=rf"{name}: document of 16 MB; a YAML or JSON document may be at most"):
            load_sources([big])

    def test_yaml_missing_field_names_record(self, mini_dir, tmp_path):
        doc = _as_document(mini_dir)
        del doc["twins"][1]["city"]
        y = tmp_path / "d.yaml"
        y.write_text(yaml.safe_dump(doc), encoding="utf-8")
        with pytest.raises(InputError, match=r"d.yaml, row 2, field city: missing required field"):
            load_sources([y])

    @pytest.mark.parametrize("name, text, expected", [
        # an unterminated string on line 12: rdflib said "row 11 ... at line 12" with b'...' fragments
        ("bad.ttl", "@prefix ex: <http://e/> .\n" + "ex:a ex:b ex:c .\n" * 10 + 'ex:a ex:b "open\nex:a ex:b ex:c .\n',
         "bad.ttl:12: not valid Turtle: "),
        ("bad.ttl", "@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nfoo bar baz .\n",
         "bad.ttl:3: not valid Turtle: foo is not a valid subject"),
        ("bad.nt", "<http://e/a> <http://e/b> <http://e/c> .\n<http://e/a> <http://e/b> \"x .\n", "bad.nt:2: not valid N-Triples: "),
        ("bad.jsonld", '{"@context": {},\n "@id": "http://e/a",\n "x": 1,,\n}', "bad.jsonld:3: not valid JSON: "),
    ], ids=["turtle-unterminated-string", "turtle-bad-subject", "ntriples", "json-ld"])
    def test_malformed_rdf_gives_file_line_and_reason(self, tmp_path, name, text, expected):
        t = tmp_path / name
        t.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as e:
            read_rdf(t)
        msg = str(e.value)
        assert msg.startswith(str(t) + ":") and expected in msg, msg
        assert "\n" not in msg and "b'" not in msg and "row" not in msg, msg
        assert e.value.exit_code == 2

    def test_property_outside_the_ontology_is_an_error(self, mini_dir, tmp_path):
        g = load_sources([mini_dir])
        ttl = tmp_path / "data.ttl"
        ttl.write_text(g.serialize(format="turtle") + "\n<https://w3id.org/peerlearn/data/pilot/P1> "
                       "<https://w3id.org/peerlearn/ontology#worksInDomian> "
                       "<https://w3id.org/peerlearn/concept/domain/energy> .\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"data.ttl: property <https://w3id.org/peerlearn/ontology#worksInDomian> "
                                             r"is not in the peerlearn ontology"):
            load_sources([ttl])

    @pytest.mark.parametrize("key", ["nickname", "nick name"])
    def test_json_ld_key_without_an_iri_is_an_error_not_dropped(self, tmp_path, key):
        doc = {"@context": {"schema": "https://schema.org/", "pl": "https://w3id.org/peerlearn/ontology#",
                            "name": "schema:name", "country": "schema:addressCountry"},
               "@id": "https://w3id.org/peerlearn/data/city/northam", "@type": "pl:City",
               "name": "Northam", "country": "NL", key: "the North"}
        f = tmp_path / "city.jsonld"
        f.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(InputError, match=rf"city.jsonld, field {key}: the @context maps this key to no IRI"):
            load_sources([f])
        del doc[key]
        f.write_text(json.dumps(doc), encoding="utf-8")
        assert len(load_sources([f])) == 3

    def test_missing_path(self, tmp_path):
        with pytest.raises(InputError, match="no such file or folder"):
            load_sources([tmp_path / "nope"])
