"""The words people read for the codes in results: one home, used by the CLI, the files a run
writes, the reports and the web pages, so they name a signal, a direction, a programme module
or a link status the same way."""

from __future__ import annotations

from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT

SIGNAL_WORDS = {
    "barrier_fit": "addresses the twin's barriers", "domain_fit": "works in the twin's domains",
    "lever_fit": "uses the twin's levers", "solution_fit": "has solutions for the twin",
    "shared_challenge": "twin shares the pilot's challenges", "experience_fit": "twin brings experience",
    "narrative_similarity": "similar narratives", "graph_proximity": "close in the knowledge graph",
    "context": "similar setting",
}
DIRECTION_WORDS = {TWIN_FROM_PILOT: "pilot → twin", PILOT_FROM_TWIN: "twin → pilot", "both": "both ways"}
# the programme's three modules (recommender.types.MODULES), in programme order
MODULE_LABELS = {"getting-started": "Getting started", "co-creating": "Co-creating",
                 "capitalising": "Capitalising"}
STATUS_WORDS = {"stated": "stated", "inferred": "inferred by a curator", "tagged": "tagged from text"}
# ISO 3166 codes of the programme's countries (EU, associated, candidates) -> names people read
COUNTRY_NAMES = {
    "AL": "Albania", "AT": "Austria", "BA": "Bosnia and Herzegovina", "BE": "Belgium", "BG": "Bulgaria",
    "CH": "Switzerland", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EE": "Estonia",
    "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GE": "Georgia", "GR": "Greece",
    "HR": "Croatia", "HU": "Hungary", "IE": "Ireland", "IL": "Israel", "IS": "Iceland", "IT": "Italy",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MD": "Moldova", "ME": "Montenegro",
    "MK": "North Macedonia", "MT": "Malta", "NL": "Netherlands", "NO": "Norway", "PL": "Poland",
    "PT": "Portugal", "RO": "Romania", "RS": "Serbia", "SE": "Sweden", "SI": "Slovenia", "SK": "Slovakia",
    "TR": "Türkiye", "UA": "Ukraine", "XK": "Kosovo",
}
