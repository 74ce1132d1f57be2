"""Sentences that deny or say nothing is known never create a concept link (issue 13, item 6),
with the real bundled model: the dataset's boilerplate and negations as contracts write them."""

from __future__ import annotations

import pytest

from kg import build
from kg.namespaces import BAR
from recommender.narratives import tag_graph
from recommender.tagging import ConceptTagger, says_nothing
from tests.conftest import ROOT

NZC = ROOT / "kg" / "datasets" / "nzc"

# as written in the bundled narratives (kg/datasets/nzc/narratives.csv) ...
BOILERPLATE = [
    "No public source states its interests, so no emission domains, levers or barriers are recorded.",
    "No public source states its learning interests, so no emission domains, levers of change or barriers "
    "are recorded for it, and its profile rests on its country, size and cohort.",
    "The sources do not say which city runs it, and they describe no emission domains, levers of change "
    "or barriers for it.",
    "No emission domains, levers of change or barriers are recorded for it as a twin.",
    "The sources confirm the title and the city but give no description of the activity, and no emission "
    "domains, levers of change or barriers are recorded for it.",
    "Whether the heat in the title means heating supply or urban heat is not stated.",
    "No barriers are given.",
]
# ... and in the Climate City Contracts (../shared/data/ccc): cells and sentences that say nothing
CONTRACT_DENIALS = [
    "Not applicable", "N.a.", "TBD", "No information on the topic",
    "There is no information available on the current usage rate of the ventilation systems.",
    "No specific barriers have been identified.",
    "The exact nature of the governance framework is consequently not known in detail.",
]
# negations that state something: they may be evidence
ASSERTIVE_NEGATIONS = [
    "Households cannot pay the high upfront cost of renovation and banks will not lend to them.",
    "Gothenburg does not control major greenhouse gas emission sources, such as refineries.",
    "There are no comprehensive primary data sources on the energy use of buildings.",
    "Heat pumps not only cut emissions but also lower energy bills.",
    "Without digital design tools such as building information modelling, retrofits stay slow.",
]


@pytest.mark.parametrize("sentence", BOILERPLATE + CONTRACT_DENIALS)
def test_denials_say_nothing(sentence):
    assert says_nothing(sentence)


@pytest.mark.parametrize("sentence", ASSERTIVE_NEGATIONS)
def test_assertive_negations_are_kept(sentence):
    assert not says_nothing(sentence)


@pytest.fixture(scope="module")
def eager(encoder, mini_catalog):
    """A tagger that tags the best three of every scheme whatever their score: only the rule
    can keep a passage from being evidence."""
    return ConceptTagger.from_catalog(mini_catalog, encoder, threshold=-1.0)


def test_no_link_from_passages_that_say_nothing(eager):
    assert eager.tag(BOILERPLATE) == []
    assert eager.tag(CONTRACT_DENIALS) == []
    assert eager.tag_many([BOILERPLATE[:3], CONTRACT_DENIALS[:3]]) == [[], []]


def test_evidence_is_the_passage_that_says_something(eager):
    passages = [BOILERPLATE[0], "Households cannot pay the high upfront cost of renovation and banks will "
                                "not lend to them.", CONTRACT_DENIALS[0]]
    tags = eager.tag(passages)
    assert tags and {t.passage_index for t in tags} == {1}
    assert str(BAR.financial) in {t.concept for t in tags}


def test_a_contract_passage_is_read_without_its_empty_cells(eager, encoder, mini_catalog):
    """A table row flattened by the CCC reader: the "Not applicable" cell changes nothing."""
    text = "Households cannot pay the high upfront cost of renovation and banks will not lend to them."
    with_cell = eager.tag([f"Barrier | {text} | Not applicable"])
    alone = eager.tag([f"Barrier | {text}"])
    assert [(t.concept, t.score) for t in with_cell] == [(t.concept, t.score) for t in alone]


def test_bundled_dataset_links_never_rest_on_a_denial(encoder, tmp_path):
    store = build([NZC], backend="oxigraph", path=tmp_path / "store", ccc_extract=False)   # narratives only
    from kg.catalog import catalog

    tagger = ConceptTagger.from_catalog(catalog(store), encoder, threshold=0.35)
    g, n = tag_graph(store, tagger)
    from kg.namespaces import PL

    evidence = [str(g.value(p, PL.text)) for p in g.objects(None, PL.evidence)]
    assert n > 0 and len(evidence) == n
    assert BOILERPLATE[0] not in evidence
    assert [e for e in evidence if says_nothing(e)] == []


def test_profile_texts_leave_out_what_says_nothing(tmp_path):
    """What the encoder reads of a twin (its narrative vector) holds no sentence that says nothing
    is known: 31 bundled twin narratives share one such sentence, which made their empty profiles
    look alike to the narrative signal."""
    from kg.catalog import catalog
    from recommender.profiles import profile_text
    from recommender.tagging import sentences

    cat = catalog(build([NZC], backend="oxigraph", path=tmp_path / "store"))
    braga = profile_text(cat, cat.twins["T1-braga"])
    assert "190,000 inhabitants" in braga                  # what it says is kept
    assert "No public source" not in braga
    texts = [profile_text(cat, x) for x in [*cat.twins.values(), *cat.pilots.values()]]
    assert [s for t in texts for s in sentences(t) if says_nothing(s)] == []
