"""The language of topics: every title and question template over every concept label of the
ontology's vocabularies and a few hard names, checked against a list of faults a reader sees
("Co-creating a energy community", "Schools's early steps", "Where does data and monitoring
barriers show up", "wants to work on Built environment").

The grammatical number and countability of each label is written here by hand, as the test's
own oracle: it does not ask ``recommender.phrases`` what it checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import RDF, SKOS

from recommender import topics

VOCABULARIES = Path(__file__).resolve().parents[2] / "ontology" / "vocabularies"
SCHEMES = ("barriers", "domains", "levers", "solutions")     # the schemes topics name (not modules)

# label -> (plural?, takes "a"/"an"?)
ORACLE = {
    "Social acceptance and behaviour barriers": (True, False), "Capacity and skills barriers": (True, False),
    "Data and monitoring barriers": (True, False), "Energy poverty and equity barriers": (True, False),
    "Financial and investment barriers": (True, False), "Governance and institutional barriers": (True, False),
    "Technology and infrastructure barriers": (True, False), "Regulatory and permitting barriers": (True, False),
    "Built environment": (False, False), "Energy systems": (True, False),
    "Green infrastructure and nature-based solutions": (True, False), "Industrial processes": (True, False),
    "Mobility and transport": (True, False), "Waste and circular economy": (True, False),
    "Data and digitalisation": (True, False), "Finance and business models": (True, False),
    "Governance and policy": (True, False), "Learning and capabilities": (True, False),
    "Democracy and participation": (True, False), "Social innovation": (False, False),
    "Technology and infrastructure": (True, False), "Carbon capture and storage": (True, False),
    "Circular economy and waste reduction": (True, False), "Citizen assembly and deliberation": (True, False),
    "Data platform, digital twin or energy passport": (False, True), "Collective or district heating": (False, False),
    "District-scale renewal": (False, False), "Energy community": (False, True),
    "Behaviour-change and engagement programme": (True, False), "Climate investment platform or fund": (False, True),
    "Nature-based solutions": (True, False), "One-stop shop for renovation and energy advice": (False, True),
    "Municipal renovation or energy agency": (False, True), "Skills and capacity-building programme": (True, False),
    "Sustainable mobility services": (True, False), "Transition team and integrated governance": (True, False),
    # the programme's own domain and thematic-area lists, mapped onto the domains above
    "Accessible public space": (False, False), "Cultural, social, financial and institutional systems": (True, False),
    "Electricity for buildings": (False, False), "Energy": (False, False),
    "Energy systems and the built environment": (True, False), "Health and well-being": (True, False),
    "Land use": (False, False), "Material and resource flows": (True, False), "Mobility": (False, False),
    "Natural areas": (True, False), "Waste management": (False, False),
}
# hard names: ending in s, acronyms, an apostrophe inside, a vowel start
NAMES = (("Belfast", "Schools"), ("Paris", "CARES"), ("Oulu", "Let'sGOv"), ("Espoo", "Galway City Net Zero"))
THINGS = ("", "Warm Home Hub", "one-stop shops", "energy passport")
SINGULAR_VERBS = {"is", "was", "has", "does", "shows", "needs", "works", "matters", "depends", "means"}
PLURAL_VERBS = {"are", "were", "have", "do", "show", "need", "work", "matter", "depend", "mean"}


def _labels() -> list[str]:
    out = []
    for scheme in SCHEMES:
        g = Graph().parse(VOCABULARIES / f"{scheme}.ttl")
        out += [str(o) for c in g.subjects(RDF.type, SKOS.Concept) for o in g.objects(c, SKOS.prefLabel)
                if getattr(o, "language", None) in (None, "en")]
    return sorted(set(out))


def faults(text: str, label: str, *, question: bool, thing: str = "") -> list[str]:
    """What a careful reader would mark in ``text``, which was made with concept ``label``."""
    plural, countable = ORACLE[label]
    found = []
    if re.search(r"\ba\s+(?!uni|use|usu|uti|eu|one|once)[aeiouAEIOU]", text):
        found.append("'a' before a vowel sound")
    if re.search(r"\ban\s+(?!hour|honest)[bcdfghjklmnpqrstvwxyz]", text):
        found.append("'an' before a consonant sound")
    if re.search(r"[sS]'s\b", text):
        found.append("possessive 's after s")
    if re.search(r"[{}]|\bNone\b|\bthis\b\s*[?,]", text):
        found.append("unfilled slot")
    if re.search(r"\s{2}|\s[,.;:?!]|\.\.|\(\s*\)|,,", text):
        found.append("spacing or punctuation")
    if re.search(r"\b(\w+) \1\b", text, re.I):
        found.append("doubled word")
    if question and not text.endswith("?"):
        found.append("question without question mark")
    if not question and text.endswith((".", "?")):
        found.append("title ending with punctuation")
    inside_thing = [(m.start(), m.end()) for m in re.finditer(re.escape(thing), text)] if thing else []
    for m in re.finditer(rf"\b{re.escape(label)}\b", text, re.I):
        if any(a <= m.start() < b for a, b in inside_thing):
            continue        # "energy" inside the thing "energy passport" is not the label
        before, after = text[:m.start()], text[m.end():]
        at_start = not before.strip() or before.rstrip().endswith((".", ":", "?", "!", "“", '"'))
        first = label.split()[0]
        if not at_start and m.group(0)[0].isupper() and not first.isupper():
            found.append(f"capitalised label mid-sentence: {m.group(0)!r}")
        prev = re.findall(r"(\w+)\s*$", before)
        nxt = re.findall(r"^\s*(\w+)", after)
        if prev and prev[0].lower() in ("a", "an") and not countable:
            found.append(f"indefinite article before {label!r}")
        if not countable and prev and prev[0].lower() == "one":
            found.append(f"'one' before {label!r}")
        if nxt and plural and nxt[0] in SINGULAR_VERBS:
            found.append(f"plural {label!r} with singular verb {nxt[0]!r}")
        if nxt and not plural and nxt[0] in PLURAL_VERBS:
            found.append(f"singular {label!r} with plural verb {nxt[0]!r}")
        if prev and plural and prev[0].lower() in ("does", "is", "has", "was"):
            found.append(f"singular verb {prev[0]!r} before plural {label!r}")
        if prev and not plural and prev[0].lower() in ("do", "are", "have", "were"):
            found.append(f"plural verb {prev[0]!r} before singular {label!r}")
    return found


def test_oracle_covers_every_label():
    labels = _labels()
    assert len(labels) >= 30
    assert sorted(ORACLE) == labels, "write the number and countability of new labels into ORACLE"


def test_the_fault_list_catches_the_known_faults():
    assert faults("Co-creating a energy community for Belfast", "Energy community", question=False)
    assert faults("Schools's early steps", "Energy community", question=False)
    assert faults("Where does data and monitoring barriers show up in Belfast?", "Data and monitoring barriers",
                  question=True)
    assert faults("Belfast wants to work on Built environment", "Built environment", question=False)
    assert not faults("How Belfast could set up an energy community", "Energy community", question=False)


@pytest.mark.parametrize("label", sorted(ORACLE))
def test_every_template_over_every_label_reads_right(label):
    bad = []
    for template in topics.all_templates():
        question = template.rstrip().endswith("?")
        for twin, pilot in NAMES:
            for thing in THINGS:
                text = topics.fill(template, twin=twin, pilot=pilot, concept=label, thing=thing)
                for f in faults(text, label, question=question, thing=thing):
                    bad.append(f"{text!r}: {f}")
    assert not bad, f"{len(bad)} faults, e.g.\n" + "\n".join(sorted(set(bad))[:15])
