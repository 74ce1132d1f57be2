"""Recommendations, assignments and topics back into the knowledge graph, with PROV-O
provenance (settings, model, time), so analysts can query them with SPARQL (example queries
``recommendations`` and ``learning-topics``)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from rdflib import PROV, RDF, RDFS, XSD, Graph, Literal, URIRef

from kg.namespaces import DATA, GRAPHS, MOD, PL
from recommender.settings import as_dict
from recommender.types import TWIN_FROM_PILOT, Assignment


def run_graph(matcher, assignments: dict[int, Assignment], settings, *, when: datetime | None = None) -> Graph:
    """The RDF of one run: ranked recommendations per twin, the assignment, topics, provenance."""
    cat = matcher.catalog
    when = when or datetime.now(UTC).replace(microsecond=0)
    cfg = json.dumps(as_dict(settings), sort_keys=True)
    run_id = hashlib.sha256((cfg + when.isoformat()).encode()).hexdigest()[:12]
    run = DATA[f"run/{run_id}"]
    g = Graph()
    g.add((run, RDF.type, PL.MatchingRun))
    g.add((run, PROV.startedAtTime, Literal(when.isoformat(), datatype=XSD.dateTime)))
    g.add((run, PL.setting, Literal(cfg)))
    g.add((run, PL.model, Literal(settings.model.name)))
    g.add((run, RDFS.label, Literal(f"peerlearn matching run {run_id}")))
    assigned = {(p.twin, p.pilot): p for a in assignments.values() for p in a.pairs}
    for twin in sorted(cat.twins):
        ranked = matcher.rank_pilots(twin)
        for rank, s in enumerate(ranked[: max(5, settings.matching.shortlist)], start=1):
            rec = DATA[f"recommendation/{run_id}/{twin}/{s.pilot}"]
            is_assigned = (twin, s.pilot) in assigned
            g.add((rec, RDF.type, PL.Assignment if is_assigned else PL.Recommendation))
            if is_assigned:
                g.add((rec, RDF.type, PL.Recommendation))
                g.add((rec, PL.pinned, Literal(assigned[twin, s.pilot].pinned)))
            g.add((rec, PL.twin, URIRef(cat.twins[twin].iri)))
            g.add((rec, PL.pilot, URIRef(cat.pilots[s.pilot].iri)))
            g.add((rec, PL.rank, Literal(rank, datatype=XSD.integer)))
            g.add((rec, PL.twinScore, Literal(round(s.twin_score, 6), datatype=XSD.double)))
            g.add((rec, PL.pilotScore, Literal(round(s.pilot_score, 6), datatype=XSD.double)))
            g.add((rec, PL.score, Literal(round(s.score, 6), datatype=XSD.double)))
            g.add((rec, PL.signal, Literal(json.dumps({"twin": s.twin_parts, "pilot": s.pilot_parts},
                                                      sort_keys=True))))
            g.add((rec, PROV.wasGeneratedBy, run))
            if is_assigned:
                for i, t in enumerate(matcher.topics(twin, s.pilot)):
                    node = URIRef(f"{rec}/topic/{i + 1}")
                    g.add((node, RDF.type, PL.LearningTopic))
                    g.add((node, PL.topicOf, rec))
                    g.add((node, RDFS.label, Literal(t.title, lang="en")))
                    g.add((node, PL.direction, PL.TwinLearnsFromPilot if t.direction == TWIN_FROM_PILOT
                           else PL.PilotLearnsFromTwin))
                    g.add((node, PL.module, MOD[t.module]))
                    g.add((node, PL.evidencePath, Literal(t.evidence.words, lang="en")))
                    if t.concept:
                        g.add((node, PL.evidence, URIRef(t.concept)))
                    for q in t.questions:
                        g.add((node, PL.question, Literal(q, lang="en")))
                    g.add((node, PROV.wasGeneratedBy, run))
    return g


def write_run(store, matcher, assignments, settings) -> Graph:
    """Replace the recommendations graph of ``store`` with this run's."""
    g = run_graph(matcher, assignments, settings)
    store.replace_graph(GRAPHS.recommendations, g)
    return g
