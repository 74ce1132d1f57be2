"""Recommendations, assignments and topics back into the knowledge graph, with PROV-O
provenance, so analysts can query them with SPARQL (example queries ``recommendations``,
``learning-topics`` and ``run-provenance``).

The run is a ``pl:MatchingRun`` (``recommender.provenance``): its start time, the peerlearn
software agent, ``prov:used`` for each input with its SHA-256, and the settings that reproduce
it as typed ``pl:runSetting`` nodes (every weight, capacity, per_twin, overload_penalty,
shortlist, topics_per_direction, tag_threshold, candidates, model name and precision). Settings
come from their public view: no secret (update token, endpoint credentials) is ever written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime

from rdflib import PROV, RDF, RDFS, XSD, Graph, Literal, URIRef

from kg.namespaces import DATA, GRAPHS, MOD, PL
from recommender.provenance import activity, add_inputs, add_setting, hash_inputs, run_settings
from recommender.types import TWIN_FROM_PILOT, Assignment


def run_graph(matcher, assignments: dict[int, Assignment], settings, *, when: datetime | None = None,
              inputs: Sequence[str | os.PathLike] = (), model: str | None = None) -> Graph:
    """The RDF of one run: ranked recommendations per twin, the assignment, topics, provenance
    (``inputs``: the files and folders the run read; ``model``: the encoder's ``model_id``,
    name and precision, default ``model.name``)."""
    cat = matcher.catalog
    when = when or datetime.now(UTC).replace(microsecond=0)
    recorded = run_settings(settings)
    used = hash_inputs(inputs)
    key = json.dumps([recorded, used, when.isoformat()], sort_keys=True)
    run_id = hashlib.sha256(key.encode()).hexdigest()[:12]
    run = DATA[f"run/{run_id}"]
    g = Graph()
    activity(g, run, PL.MatchingRun, when, f"peerlearn matching run {run_id}")
    g.add((run, PL.model, Literal(model or dict(recorded)["model.name"])))
    for k, v in recorded:
        add_setting(g, run, k, v)
    add_inputs(g, run, used)
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


def write_run(store, matcher, assignments, settings, *, inputs: Sequence[str | os.PathLike] = (),
              model: str | None = None) -> Graph:
    """Replace the recommendations graph of ``store`` with this run's."""
    g = run_graph(matcher, assignments, settings, inputs=inputs, model=model)
    store.replace_graph(GRAPHS.recommendations, g)
    return g
