"""The example library analysts run with ``peerlearn query --example NAME``: each example a
documented query (title, what it answers, the variables it takes as parameters).

Values are bound at query time (``Store.query(text, {"var": term})``), never spliced into the
text; an example's parameters are variables of its SELECT projection (SPARQL SEP-0007). The
same rules as ``kg/queries.py`` hold: every example runs unchanged on the embedded stores,
``oxigraph serve`` and Virtuoso 7.2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.queries import PREFIXES


@dataclass(frozen=True)
class ExampleQuery:
    """One documented example query."""

    name: str
    title: str
    description: str
    text: str
    parameters: dict[str, str] = field(default_factory=dict)  # variable -> what to pass


EXAMPLES: dict[str, ExampleQuery] = {}


def _ex(name: str, title: str, description: str, body: str, **parameters: str) -> None:
    EXAMPLES[name] = ExampleQuery(name, title, description, PREFIXES + body.strip() + "\n", parameters)


_ex("pilots-by-domain", "Pilot activities working in an emission domain",
    "Each pilot activity with the emission domains it works in and whether the link is stated "
    "by a source or inferred. Bind ?domain (e.g. dom:energy) to keep one domain.",
    """
SELECT ?pilot ?title ?domain ?domainLabel ?status WHERE {
  ?pilot a pl:PilotActivity ; dcterms:title ?title ; pl:hasConceptLink ?link .
  ?link pl:linkProperty pl:worksInDomain ; pl:concept ?domain ; pl:status ?s .
  ?domain skos:prefLabel ?domainLabel .
  ?s rdfs:label ?status .
}
ORDER BY ?domainLabel ?pilot
""", domain="an emission-domain concept, e.g. dom:energy")

_ex("twins-sharing-barrier", "Twins' barriers and the pilot activities that address them",
    "For each barrier a twin faces, how many pilot activities open to its cohort address it "
    "(pilot activities counted once per cohort and barrier, so the query stays fast with "
    "tens of thousands of twins). Bind ?barrier to keep one barrier; list the pilot activities "
    "with solutions-for-barrier.",
    """
SELECT ?twinCity ?barrier ?barrierLabel ?pilots WHERE {
  {
    SELECT ?cohort ?barrier (COUNT(DISTINCT ?pilot) AS ?pilots) WHERE {
      ?pilot a pl:PilotActivity ; pl:addressesBarrier ?barrier .
      { ?pilot pl:cohort ?cohort } UNION { ?pilot pl:opensToCohort ?cohort }
    }
    GROUP BY ?cohort ?barrier
  }
  ?twin a pl:TwinCity ; pl:twinCity/schema:name ?twinCity ; pl:facesBarrier ?barrier ; pl:cohort ?cohort .
  ?barrier skos:prefLabel ?barrierLabel .
}
ORDER BY DESC(?pilots) ?twinCity ?barrierLabel
""", barrier="a barrier concept, e.g. bar:financial")

_ex("cities-by-country-role", "Cities by country and role",
    "How many cities of each country are Mission Cities, run pilot activities, or take part as twins.",
    """
SELECT ?country (COUNT(DISTINCT ?city) AS ?cities) (COUNT(DISTINCT ?mission) AS ?missionCities)
       (COUNT(DISTINCT ?pilotCity) AS ?pilotCities) (COUNT(DISTINCT ?twinCity) AS ?twinCities) WHERE {
  ?city a pl:City ; schema:addressCountry ?country .
  OPTIONAL { ?city a pl:MissionCity . BIND(?city AS ?mission) }
  OPTIONAL { ?p pl:runBy ?city . BIND(?city AS ?pilotCity) }
  OPTIONAL { ?t pl:twinCity ?city . BIND(?city AS ?twinCity) }
}
GROUP BY ?country
ORDER BY DESC(?cities) ?country
""")

_ex("unaddressed-barriers", "Barriers no pilot activity addresses",
    "Barrier classes of the vocabulary that no pilot activity addresses, with how many twins face "
    "them: gaps in what the programme can teach.",
    """
SELECT ?barrier ?label (COUNT(DISTINCT ?twin) AS ?twinsFacingIt) WHERE {
  ?barrier a pl:Barrier ; skos:prefLabel ?label .
  FILTER NOT EXISTS { ?pilot pl:addressesBarrier ?barrier }
  OPTIONAL { ?twin pl:facesBarrier ?barrier }
}
GROUP BY ?barrier ?label
ORDER BY ?label
""")

_ex("pilot-overview", "Pilot activities at a glance",
    "Every pilot activity with its cohort number ?n, cities, domains and levers. Bind ?n "
    "(e.g. 1) to keep one cohort.",
    """
SELECT ?id ?title ?n (GROUP_CONCAT(DISTINCT ?cityName; separator="; ") AS ?cities)
       (GROUP_CONCAT(DISTINCT ?d; separator="; ") AS ?domains)
       (GROUP_CONCAT(DISTINCT ?l; separator="; ") AS ?levers) WHERE {
  ?pilot a pl:PilotActivity ; dcterms:identifier ?id ; dcterms:title ?title ; pl:cohort ?cohort .
  ?cohort pl:cohortNumber ?n .
  OPTIONAL { ?pilot pl:runBy/schema:name ?cn }
  OPTIONAL { ?pilot pl:worksInDomain/skos:notation ?dn }
  OPTIONAL { ?pilot pl:usesLever/skos:notation ?ln }
  # COALESCE keeps unbound values out of GROUP_CONCAT on every engine
  BIND(COALESCE(?cn, "") AS ?cityName) BIND(COALESCE(?dn, "") AS ?d) BIND(COALESCE(?ln, "") AS ?l)
}
GROUP BY ?id ?title ?n
ORDER BY ?id
""", n="a cohort number, e.g. 1")

_ex("multi-city-pilots", "Multi-city pilot activities",
    "Pilot activities run by more than one city, largest first.",
    """
SELECT ?id ?title (COUNT(?city) AS ?cityCount) WHERE {
  ?pilot a pl:PilotActivity ; dcterms:identifier ?id ; dcterms:title ?title ; pl:runBy ?city .
}
GROUP BY ?id ?title
HAVING (COUNT(?city) > 1)
ORDER BY DESC(?cityCount) ?id
""")

_ex("twin-interests", "What twins say they want to learn",
    "Twins with their stated interests and the domains and levers those map to.",
    """
SELECT ?id ?city ?n ?interests (GROUP_CONCAT(DISTINCT ?c; separator="; ") AS ?concepts) WHERE {
  ?twin a pl:TwinCity ; dcterms:identifier ?id ; pl:twinCity/schema:name ?city ; pl:cohort/pl:cohortNumber ?n .
  OPTIONAL { ?twin pl:statedInterests ?i }
  OPTIONAL { ?twin pl:interestedInDomain|pl:interestedInLever|pl:facesBarrier ?concept .
             ?concept skos:notation ?cn }
  BIND(COALESCE(?i, "") AS ?interests) BIND(COALESCE(?cn, "") AS ?c)
}
GROUP BY ?id ?city ?n ?interests
ORDER BY ?n ?city
""")

_ex("concept-coverage", "How many pilot activities use each concept",
    "For each domain, lever and barrier: the pilot activities linked to it, split by stated, "
    "inferred and tagged links.",
    """
SELECT ?scheme ?label ?status (COUNT(DISTINCT ?pilot) AS ?pilots) WHERE {
  ?pilot a pl:PilotActivity ; pl:hasConceptLink ?link .
  ?link pl:concept ?concept ; pl:status/rdfs:label ?status .
  ?concept skos:prefLabel ?label ; skos:inScheme/skos:prefLabel ?scheme .
}
GROUP BY ?scheme ?label ?status
ORDER BY ?scheme ?label ?status
""")

_ex("cities-in-several-roles", "Cities in more than one role",
    "Cities that are a Mission City and also run a pilot activity or take part as a twin.",
    """
SELECT ?name ?country ?mission ?pilots ?twinOf WHERE {
  {
    SELECT ?city (COUNT(DISTINCT ?p) AS ?pilots) (SAMPLE(?cohortN) AS ?twinOf) WHERE {
      ?city a pl:City .
      OPTIONAL { ?p pl:runBy ?city }
      OPTIONAL { ?t pl:twinCity ?city ; pl:cohort/pl:cohortNumber ?cohortN }
    } GROUP BY ?city
  }
  ?city schema:name ?name ; schema:addressCountry ?country .
  OPTIONAL { ?city a pl:MissionCity . BIND(true AS ?isMission) }
  BIND(xsd:boolean(BOUND(?isMission)) AS ?mission)
  FILTER((BOUND(?isMission) && (?pilots > 0 || BOUND(?twinOf))) || (?pilots > 0 && BOUND(?twinOf)))
}
ORDER BY ?name
""")

_ex("solutions-for-barrier", "Solution types that answer a barrier, and who implements them",
    "The path twin -faces-> barrier <-answers- solution <-implements- pilot, read from the "
    "vocabulary's skos:related links. Bind ?barrier to keep one barrier.",
    """
SELECT ?barrier ?barrierLabel ?solutionLabel ?pilot ?title WHERE {
  ?barrier a pl:Barrier ; skos:prefLabel ?barrierLabel .
  ?solution a pl:SolutionType ; skos:related ?barrier ; skos:prefLabel ?solutionLabel .
  OPTIONAL { ?pilot pl:implementsSolution ?solution ; dcterms:title ?title }
}
ORDER BY ?barrierLabel ?solutionLabel ?pilot
""", barrier="a barrier concept, e.g. bar:capacity")

_ex("open-to-later-cohorts", "Pilot activities open to twins of later cohorts",
    "Pilot activities that may also receive twins of a later cohort, with their cities.",
    """
SELECT ?id ?title ?from ?alsoOpenTo (GROUP_CONCAT(DISTINCT ?cityName; separator="; ") AS ?cities) WHERE {
  ?pilot pl:opensToCohort/pl:cohortNumber ?alsoOpenTo ; dcterms:identifier ?id ; dcterms:title ?title ;
         pl:cohort/pl:cohortNumber ?from .
  OPTIONAL { ?pilot pl:runBy/schema:name ?cn }
  BIND(COALESCE(?cn, "") AS ?cityName)
}
GROUP BY ?id ?title ?from ?alsoOpenTo
ORDER BY ?id
""")

_ex("largest-cities", "Cities by population",
    "Cities with a known population (from GeoNames), largest first, with their roles.",
    """
SELECT ?name ?country ?population ?missionCity WHERE {
  ?c a pl:City ; schema:name ?name ; schema:addressCountry ?country ; schema:population ?population .
  OPTIONAL { ?c a pl:MissionCity . BIND(true AS ?isMission) }
  BIND(xsd:boolean(BOUND(?isMission)) AS ?missionCity)
}
ORDER BY DESC(?population)
LIMIT 25
""")

_ex("recommendations", "Recommended pairs with both directional scores",
    "What `peerlearn recommend`/`run` wrote back: each twin's ranked pilot activities with the "
    "twin-side and pilot-side scores. Empty until a run has been stored.",
    """
SELECT ?twinId ?rank ?pilotId ?twinScore ?pilotScore ?score WHERE {
  ?rec a pl:Recommendation ; pl:twin/dcterms:identifier ?twinId ; pl:pilot/dcterms:identifier ?pilotId ;
       pl:rank ?rank ; pl:twinScore ?twinScore ; pl:pilotScore ?pilotScore ; pl:score ?score .
}
ORDER BY ?twinId ?rank
""", twinId='a twin id literal, e.g. "T1-belfast"')

_ex("pairs-by-signal", "Pairs where barrier fit is above 0.5",
    "Recommended pairs whose twin-side barrier fit (how far the pilot activity addresses the "
    "twin's barriers) is above 0.5, with the assigned ones marked. Every signal of every stored "
    "pair is a typed pl:SignalScore (pl:signalName, pl:direction, pl:value as xsd:decimal): put "
    "another name in place of \"barrier_fit\" (e.g. \"domain_fit\") to ask about another signal. "
    "Empty until a run has been stored.",
    """
SELECT ?twinId ?pilotId ?barrierFit ?score ?assigned WHERE {
  ?rec a pl:Recommendation ; pl:twin/dcterms:identifier ?twinId ; pl:pilot/dcterms:identifier ?pilotId ;
       pl:score ?score ; pl:signalScore ?s .
  ?s pl:signalName "barrier_fit" ; pl:direction pl:TwinLearnsFromPilot ; pl:value ?barrierFit .
  FILTER(?barrierFit > 0.5)
  BIND(EXISTS { ?rec a pl:Assignment } AS ?assigned)
}
ORDER BY DESC(?barrierFit) ?twinId ?pilotId
""")

_ex("explained-assignments", "Why each twin got its pilot activity",
    "Every stored assignment with the rank of its pilot activity in the twin's own list, the "
    "twin's first choice, what giving it that first choice would cost the cohort's objective, "
    "the weak flag (score below matching.weak_threshold) and the explanation in words. Empty "
    "until a run has been stored.",
    """
SELECT ?twinId ?pilotId ?rank ?candidates ?firstChoice ?cost ?weak ?why WHERE {
  ?rec a pl:Assignment ; pl:twin/dcterms:identifier ?twinId ; pl:pilot/dcterms:identifier ?pilotId ;
       pl:rank ?rank ; pl:candidateCount ?candidates ; pl:weak ?weak ; pl:explanation ?why .
  OPTIONAL { ?rec pl:firstChoice/dcterms:identifier ?firstChoice }
  OPTIONAL { ?rec pl:alternativeCost ?cost }
}
ORDER BY ?twinId
""")

_ex("learning-topics", "Learning topics of assigned pairs",
    "Topics suggested for each assigned pair, by module and direction, with their evidence path. "
    "Empty until a run has been stored.",
    """
SELECT ?twinId ?pilotId ?module ?direction ?topic ?evidence WHERE {
  ?t a pl:LearningTopic ; pl:topicOf ?rec ; pl:module/skos:prefLabel ?module ;
     pl:direction/rdfs:label ?direction ; rdfs:label ?topic ; pl:evidencePath ?evidence .
  ?rec pl:twin/dcterms:identifier ?twinId ; pl:pilot/dcterms:identifier ?pilotId .
}
ORDER BY ?twinId ?module ?direction
""")

_ex("run-provenance", "How each run and tagging was made",
    "For every matching run (`peerlearn run`) and concept tagging: when it started, the "
    "peerlearn version, the model, each setting with its typed value (weights one per signal) and "
    "each input file or folder with its SHA-256. Secrets are never recorded. Empty until a run or "
    "`peerlearn tag` has been stored.",
    """
SELECT DISTINCT ?activity ?run ?started ?software ?what ?name ?value WHERE {
  VALUES ?kind { pl:MatchingRun pl:TaggingRun }
  ?run a ?kind ; prov:startedAtTime ?started ; prov:wasAssociatedWith/rdfs:label ?software .
  BIND(STRAFTER(STR(?kind), "#") AS ?activity)
  { ?run pl:model ?value . BIND("model" AS ?what) BIND("model" AS ?name) }
  UNION
  { ?run pl:runSetting ?s . ?s pl:settingKey ?name ; pl:settingValue ?value . BIND("setting" AS ?what) }
  UNION
  { ?run prov:used ?input . ?input rdfs:label ?name ; pl:sha256 ?value . BIND("input" AS ?what) }
}
ORDER BY ?started ?activity ?what ?name
""", run="a run IRI, e.g. <https://w3id.org/peerlearn/data/run/...>")

_ex("ccc-barrier-passages", "Barrier passages from Climate City Contracts",
    "Passages of Module A-3 (systemic barriers and opportunities) of each ingested Climate City "
    "Contract. Empty until `peerlearn ingest-ccc` has run.",
    """
SELECT ?city ?position ?text WHERE {
  ?c schema:name ?city ; pl:narrative ?n .
  ?n pl:passage ?p .
  ?p pl:section "A-3" ; pl:position ?position ; pl:text ?text .
}
ORDER BY ?city ?position
LIMIT 200
""")

_ex("emissions-by-sector", "Emissions by sector from Climate City Contract inventories",
    "Sector emissions extracted from the A-1 inventory tables of ingested Climate City Contracts.",
    """
SELECT ?city ?year ?sector ?domain ?tonnes WHERE {
  ?c schema:name ?city ; pl:emissions ?e .
  ?e pl:sectorLabel ?sector ; pl:tonnesCO2e ?tonnes .
  OPTIONAL { ?e pl:sector/skos:notation ?domain }
  OPTIONAL { ?e dcterms:date ?year }
}
ORDER BY ?city ?year DESC(?tonnes)
""")

_ex("gcom-city-links", "Concept links from a city's Covenant of Mayors plan",
    "The emission domains, levers and solution types a city's planned GCoM actions imply "
    "(graph gcom: JRC GCoM - MyCovenant, CC BY 4.0), with the share of its actions behind each "
    "link, the link's score (share over the city's largest share in that scheme) and the actions. "
    "Bind ?cityName (e.g. \"Matosinhos\") to keep one city.",
    """
SELECT ?cityName ?concept ?label ?share ?score ?actions ?evidenceText WHERE {
  ?sig gcom:describes ?city ; pl:hasConceptLink ?l .
  ?city schema:name ?cityName .
  ?l pl:concept ?concept ; pl:score ?score ; gcom:share ?share ; gcom:actions ?actions .
  ?concept skos:prefLabel ?label .
  OPTIONAL { ?l pl:evidence/gcom:actionText ?evidenceText }
}
ORDER BY ?cityName DESC(?share) ?concept ?evidenceText
""", cityName="a city name as in the dataset, e.g. \"Matosinhos\"")

_ex("gcom-emission-shares", "Where a city's emissions are (GCoM inventories)",
    "Share of each signatory's latest inventoried emissions per emission domain, with the "
    "inventory year; dataset cities where the signatory is matched to one.",
    """
SELECT ?signatory ?country ?city ?year ?domain ?share WHERE {
  ?sig gcom:emissionShare ?e ; schema:name ?signatory ; schema:addressCountry ?country .
  ?e gcom:domain/skos:notation ?domain ; gcom:share ?share ; gcom:year ?year .
  OPTIONAL { ?sig gcom:describes/schema:name ?city }
}
ORDER BY ?signatory DESC(?share)
""")

_ex("gcom-mapping", "How GCoM sectors, instruments and measures map onto peerlearn concepts",
    "The SKOS mapping (ontology/vocabularies/gcom.ttl) the derived links follow: each GCoM "
    "category, the mapping property (closeMatch 1.0, broadMatch 0.7, relatedMatch 0.4 in the "
    "links) and the peerlearn concept.",
    """
SELECT ?category ?categoryLabel ?mapping ?concept ?conceptLabel WHERE {
  VALUES ?mapping { skos:exactMatch skos:closeMatch skos:broadMatch skos:narrowMatch skos:relatedMatch }
  ?category ?mapping ?concept ; skos:prefLabel ?categoryLabel .
  ?concept skos:prefLabel ?conceptLabel .
  FILTER(STRSTARTS(STR(?category), "https://w3id.org/peerlearn/concept/gcom-"))
}
ORDER BY ?category ?mapping ?concept
""")

_ex("gcom-transport-gap", "Signatories whose transport emissions are high but plan no transport action",
    "Signatories where mobility is over 40% of the latest inventoried emissions and no planned "
    "action has the transport sector.",
    """
SELECT ?signatory ?country ?share WHERE {
  ?sig gcom:emissionShare ?e ; schema:name ?signatory ; schema:addressCountry ?country .
  ?e gcom:domain dom:mobility ; gcom:share ?share .
  FILTER(?share > 0.4)
  FILTER NOT EXISTS { ?a gcom:plan/gcom:signatory ?sig ;
                       gcom:category <https://w3id.org/peerlearn/concept/gcom-sector/transport> }
}
ORDER BY DESC(?share) ?signatory
""")

_ex("gcom-2050-no-monitoring", "Signatories committed to 2050 with no monitoring inventory",
    "Signatories with a CoM2050 (climate neutrality) commitment and no inventory from a "
    "monitoring report in the release.",
    """
SELECT ?signatory ?country ?population WHERE {
  ?sig a gcom:Signatory ; gcom:commitment "CoM2050" ; schema:name ?signatory ; schema:addressCountry ?country .
  OPTIONAL { ?sig gcom:population ?population }
  FILTER NOT EXISTS { ?entry gcom:signatory ?sig ; a gcom:InventoryEntry }
}
ORDER BY DESC(?population) ?signatory
""")


_ex("gcom-signatory-links", "A Covenant signatory's concepts, from its planned actions",
    "The peerlearn concepts (domains, levers, solution types) a signatory's planned actions imply "
    "through the GCoM mapping, with the share of its actions behind each and one of them as "
    "evidence. Bind ?city (e.g. \"Mechelen\", as written in the release) to keep one signatory.",
    """
SELECT ?city ?country ?concept ?label ?share ?actions ?example WHERE {
  ?signatory a gcom:Signatory ; schema:name ?city ; schema:addressCountry ?country ; pl:hasConceptLink ?l .
  ?l pl:concept ?concept ; gcom:share ?share ; gcom:actions ?actions .
  OPTIONAL { ?concept skos:prefLabel ?label }
  OPTIONAL { SELECT ?l (SAMPLE(?t) AS ?example) WHERE { ?l pl:evidence/gcom:actionText ?t } GROUP BY ?l }
}
ORDER BY ?city DESC(?share) ?concept
""", city="a signatory's name as in the release, e.g. \"Mechelen\"")
