"""The ontology: the closed namespace matches the Turtle, and the SHACL shapes accept good
data and reject broken variants."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from rdflib import RDF, SKOS, Graph, Literal, URIRef

from kg.build import bundled_dataset, load_sources
from kg.errors import ValidationError
from kg.namespaces import BAR, DOM, LEV, PL
from kg.ontology import ontology_graph, vocabulary_codes
from kg.validate import violations

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_namespace", ROOT / "scripts" / "gen_namespace.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestNamespace:
    def test_generated_file_is_in_sync_with_the_turtle(self):
        expected = _generator().render()
        actual = (ROOT / "kg" / "namespaces.py").read_text(encoding="utf-8")
        assert actual == expected, "run: python scripts/gen_namespace.py"

    def test_every_ontology_term_is_defined(self):
        g = ontology_graph()
        for name in ("City", "PilotActivity", "TwinCity", "worksInDomain", "facesBarrier", "Stated"):
            assert (URIRef(PL[name]), None, None) in g

    def test_typo_is_an_error_not_a_new_iri(self):
        with pytest.raises(AttributeError):
            _ = PL.PilotActivty

    def test_concept_with_hyphen_is_reachable(self):
        assert str(BAR["energy-poverty"]).endswith("/barrier/energy-poverty")


class TestVocabularies:
    def test_codes_per_scheme(self):
        codes = vocabulary_codes()
        assert codes["domain"] == {"energy", "mobility", "buildings", "waste", "green", "industry"}
        assert {"governance", "finance", "social-innovation", "data"} <= codes["lever"]
        assert {"getting-started", "co-creating", "capitalising"} == codes["module"]

    def test_every_concept_has_label_and_definition(self):
        g = ontology_graph()
        for c in g.subjects(RDF.type, SKOS.Concept):
            if (c, SKOS.inScheme, None) not in g:
                continue
            assert g.value(c, SKOS.prefLabel) is not None, c
        for scheme_ns in (DOM, LEV, BAR):
            for c in g.subjects(SKOS.inScheme, URIRef(str(scheme_ns))):
                assert g.value(c, SKOS.definition) is not None, c

    def test_other_domain_vocabularies_map_onto_the_core_scheme(self):
        g = ontology_graph()
        mapped = [o for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.relatedMatch)
                  for o in g.objects(None, p)]
        assert {DOM.energy, DOM.mobility, DOM.buildings, DOM.waste, DOM.green, DOM.industry} <= set(mapped)


class TestShapes:
    def test_mini_dataset_is_valid(self, mini_dir):
        assert violations(load_sources([mini_dir])) == []

    def test_bundled_dataset_is_valid(self):
        assert violations(load_sources([bundled_dataset()])) == []

    def _broken(self, mini_dir, edit):
        g = load_sources([mini_dir])
        edit(g)
        return violations(g)

    @pytest.mark.parametrize("edit, expected", [
        (lambda g: g.remove((URIRef("https://w3id.org/peerlearn/data/city/northam"),
                             URIRef("https://schema.org/name"), None)), "schema:name"),
        (lambda g: g.add((URIRef("https://w3id.org/peerlearn/data/pilot/P1"), PL.worksInDomain, BAR.financial)),
         "emission domain"),
        (lambda g: g.add((URIRef("https://w3id.org/peerlearn/data/city/northam"),
                          URIRef("https://schema.org/addressCountry"), Literal("Netherlands"))), "ISO"),
        (lambda g: g.remove((URIRef("https://w3id.org/peerlearn/data/twin/T1-westford"), PL.twinCity, None)),
         "twinCity"),
    ], ids=["city-without-name", "domain-link-to-barrier", "country-not-iso", "twin-without-city"])
    def test_broken_variants_are_rejected(self, mini_dir, edit, expected):
        found = violations(load_sources([mini_dir]) + Graph())
        assert found == []
        found = self._broken(mini_dir, edit)
        assert found and any(expected in str(v) for v in found), found

    def test_invalid_rdf_input_names_the_file(self, tmp_path, mini_dir):
        bad = tmp_path / "extra.ttl"
        bad.write_text('@prefix pl: <https://w3id.org/peerlearn/ontology#> .\n'
                       '<https://w3id.org/peerlearn/data/twin/X> a pl:TwinCity .\n', encoding="utf-8")
        with pytest.raises(ValidationError, match="extra.ttl"):
            load_sources([mini_dir, bad])
