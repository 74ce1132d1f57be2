"""The SPARQL the code runs, as named constants, and ``PREFIXES``, the prologue of every query.

The example library analysts run with ``peerlearn query --example NAME`` is ``kg/examples.py``.
Every query here runs unchanged on the embedded stores, ``oxigraph serve`` and Virtuoso 7.2
(tests/kg/test_store.py compares the answers): so no ``BIND(EXISTS {...})`` (Virtuoso's
compiler fails on it; ``OPTIONAL { ... BIND(true AS ?x) }`` with ``BOUND(?x)`` gives the
same answer). Virtuoso answers a boolean expression as an integer 1/0: a computed boolean
is cast with ``xsd:boolean(...)`` (a no-op elsewhere), which Virtuoso types as xsd:boolean
"1"/"0" and the remote store reads as true/false.
"""

from __future__ import annotations

from kg.sparql_formats import PREFIXES as _PREFIX_TABLE

# The prologue of every example: names from the one prefix table (kg.sparql_formats).
PREFIXES = "".join(f"PREFIX {p}: <{_PREFIX_TABLE[p]}>\n" for p in (
    "pl", "dom", "lev", "bar", "sol", "mod", "skos", "schema", "dcterms", "prov", "rdfs", "xsd", "gcom"))


# ---------------------------------------------------------------- queries the code runs

COUNTS = PREFIXES + """
SELECT
  (COUNT(DISTINCT ?city) AS ?cities) (COUNT(DISTINCT ?mission) AS ?missionCities)
  (COUNT(DISTINCT ?pilot) AS ?pilots) (COUNT(DISTINCT ?twin) AS ?twins)
  (COUNT(DISTINCT ?narrative) AS ?narratives)
WHERE {
  { ?city a pl:City } UNION { ?mission a pl:MissionCity } UNION { ?pilot a pl:PilotActivity }
  UNION { ?twin a pl:TwinCity } UNION { ?narrative a pl:Narrative }
}
"""

COUNTS_BY_COHORT = PREFIXES + """
SELECT ?cohort (COUNT(DISTINCT ?pilot) AS ?pilots) (COUNT(DISTINCT ?twin) AS ?twins) WHERE {
  ?c pl:cohortNumber ?cohort .
  { ?pilot a pl:PilotActivity ; pl:cohort ?c } UNION { ?twin a pl:TwinCity ; pl:cohort ?c }
}
GROUP BY ?cohort ORDER BY ?cohort
"""

CONCEPTS = PREFIXES + """
SELECT ?c ?code ?label ?definition ?scheme
       (GROUP_CONCAT(DISTINCT ?altS; separator="\\t") AS ?alts)
       (GROUP_CONCAT(DISTINCT ?relS; separator=" ") AS ?related) WHERE {
  ?c a skos:Concept ; skos:notation ?code ; skos:prefLabel ?label ; skos:inScheme ?scheme .
  OPTIONAL { ?c skos:definition ?definition }
  OPTIONAL { ?c skos:altLabel ?alt }
  OPTIONAL { ?c skos:related ?rel }
  BIND(COALESCE(STR(?alt), "") AS ?altS)
  BIND(COALESCE(STR(?rel), "") AS ?relS)
}
GROUP BY ?c ?code ?label ?definition ?scheme
"""

CITIES = PREFIXES + """
SELECT ?c ?id ?name ?country ?population ?lat ?lon ?mission ?ccc
       (GROUP_CONCAT(DISTINCT ?altS; separator="\\t") AS ?alts) WHERE {
  ?c a pl:City ; dcterms:identifier ?id ; schema:name ?name ; schema:addressCountry ?country .
  OPTIONAL { ?c schema:population ?population }
  # STR: Virtuoso writes doubles with 6 significant digits but keeps their full lexical form
  OPTIONAL { ?c schema:latitude ?latV ; schema:longitude ?lonV }
  BIND(STR(?latV) AS ?lat) BIND(STR(?lonV) AS ?lon)
  OPTIONAL { ?c pl:cccFile ?ccc }
  OPTIONAL { ?c skos:altLabel ?alt }
  BIND(COALESCE(STR(?alt), "") AS ?altS)
  OPTIONAL { ?c a pl:MissionCity . BIND(true AS ?isMission) }
  BIND(xsd:boolean(BOUND(?isMission)) AS ?mission)
}
GROUP BY ?c ?id ?name ?country ?population ?lat ?lon ?mission ?ccc
"""

PILOTS = PREFIXES + """
SELECT ?p ?id ?cohort ?title ?acronym ?capacity ?summary ?lead
       (GROUP_CONCAT(DISTINCT ?cityS; separator=" ") AS ?cities)
       (GROUP_CONCAT(DISTINCT ?openS; separator=" ") AS ?opens) WHERE {
  ?p a pl:PilotActivity ; dcterms:identifier ?id ; dcterms:title ?title ; pl:cohort/pl:cohortNumber ?cohort .
  OPTIONAL { ?p pl:acronym ?acronym }
  OPTIONAL { ?p pl:capacity ?capacity }
  OPTIONAL { ?p dcterms:abstract ?summary }
  OPTIONAL { ?p pl:leadCity/dcterms:identifier ?lead }
  OPTIONAL { ?p pl:runBy/dcterms:identifier ?cityId }
  OPTIONAL { ?p pl:opensToCohort/pl:cohortNumber ?open }
  BIND(COALESCE(STR(?cityId), "") AS ?cityS)
  BIND(COALESCE(STR(?open), "") AS ?openS)
}
GROUP BY ?p ?id ?cohort ?title ?acronym ?capacity ?summary ?lead
"""

TWINS = PREFIXES + """
SELECT ?t ?id ?cityId ?cohort ?interests WHERE {
  ?t a pl:TwinCity ; dcterms:identifier ?id ; pl:twinCity/dcterms:identifier ?cityId ;
     pl:cohort/pl:cohortNumber ?cohort .
  OPTIONAL { ?t pl:statedInterests ?interests }
}
"""

LINKS = PREFIXES + """
SELECT ?s ?l ?prop ?concept ?status ?score ?evidence WHERE {
  ?s pl:hasConceptLink ?l ; dcterms:identifier ?sid .   # pilots and twins (not GCoM signatories)
  ?l pl:linkProperty ?prop ; pl:concept ?concept ; pl:status ?status .
  OPTIONAL { ?l pl:score ?scoreV }
  BIND(STR(?scoreV) AS ?score)  # full precision on Virtuoso too
  OPTIONAL { ?l pl:evidence ?evidence }
}
"""

SOURCES = PREFIXES + """
SELECT ?s ?src WHERE {
  { ?s a pl:PilotActivity } UNION { ?s a pl:TwinCity }
  ?s dcterms:source ?src .
}
ORDER BY ?s ?src
"""

# Concept links a city's GCoM signatory implies (kg/ingest/gcom), with the first action as evidence.
GCOM_LINKS = PREFIXES + """
SELECT ?city ?concept ?score (MIN(STR(?ev)) AS ?evidence) WHERE {
  ?sig gcom:describes ?city ; pl:hasConceptLink ?l .
  ?l pl:concept ?concept ; pl:score ?scoreV .
  BIND(STR(?scoreV) AS ?score)
  OPTIONAL { ?l pl:evidence ?ev }
}
GROUP BY ?city ?concept ?score
"""

NARRATIVES = PREFIXES + """
SELECT ?s ?n ?text WHERE {
  ?s pl:narrative ?n . ?n pl:text ?text .
  FILTER NOT EXISTS { ?n pl:passage ?any }
}
ORDER BY ?s ?n
"""

PASSAGES = PREFIXES + """
SELECT ?p ?owner ?section ?position ?text WHERE {
  ?ownerNode pl:narrative ?n ; dcterms:identifier ?owner .
  ?n pl:passage ?p .
  ?p pl:section ?section ; pl:position ?position ; pl:text ?text .
}
ORDER BY ?owner ?position
"""
