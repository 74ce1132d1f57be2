"""A run's result back into the knowledge graph, with PROV-O provenance, so analysts can query
it with SPARQL (example queries ``recommendations``, ``learning-topics``, ``explained-assignments``,
``pairs-by-signal`` and ``run-provenance``). A formatter of the ``RunResult``: nothing is scored here.

Stored: each twin's shortlist (``matching.shortlist`` entries, ``pl:Recommendation``) and every
assigned pair whatever its rank (``pl:Assignment``, also a recommendation), with ``pl:rank`` in
the twin's own list; per pair each signal in each direction as a ``pl:SignalScore`` node
(``pl:signalName``, ``pl:direction``, ``pl:value``); every learning topic of every assigned pair;
per assignment its explanation (``pl:weak``, ``pl:candidateCount``, ``pl:firstChoice``,
``pl:alternativeCost``, ``pl:passedOver`` nodes for better-ranked pilots with load, capacity and
``pl:takenBy``, and ``pl:explanation`` in words). Scores and costs are ``xsd:decimal`` rounded to
4 places.

The run is a ``pl:MatchingRun`` (``recommender.provenance``): its start time, the peerlearn
software agent, ``prov:used`` for each input with its SHA-256, and the settings that reproduce
it as typed ``pl:runSetting`` nodes (every weight, capacity, per_twin, overload_penalty,
shortlist, weak_threshold, topics_per_direction, tag_threshold, candidates, model name and
precision). Settings come from their public view: no secret (update token, endpoint
credentials) is ever written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from rdflib import PROV, RDF, RDFS, XSD, Graph, Literal, URIRef

from kg.namespaces import DATA, GRAPHS, MOD, PL
from recommender.provenance import activity, add_inputs, add_setting, hash_inputs, run_settings
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT


def dec(v: float) -> Literal:
    """A score as ``xsd:decimal`` rounded to 4 places."""
    return Literal(Decimal(f"{float(v):.4f}"), datatype=XSD.decimal)


def run_graph(result, *, when: datetime | None = None, inputs: Sequence[str | os.PathLike] = (),
              model: str | None = None) -> Graph:
    """The RDF of one run (``result``: a ``RunResult``; ``inputs``: the files and folders the
    run read; ``model``: the encoder's ``model_id``, name and precision, default ``model.name``)."""
    cat = result.catalog
    settings = result.settings
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
    for c in result.cohorts:
        assigned = {(p.twin, p.pilot): p for p in c.assignment.pairs}
        topics = {(p.twin, p.pilot): p.topics for p in c.pairs}
        for twin, ranking in c.rankings:
            for rank, s in enumerate(ranking, start=1):
                if rank > result.shortlist and (twin, s.pilot) not in assigned:
                    continue
                rec = DATA[f"recommendation/{run_id}/{twin}/{s.pilot}"]
                _recommendation(g, rec, cat, s, rank, run)
                if (twin, s.pilot) in assigned:
                    g.add((rec, RDF.type, PL.Assignment))
                    g.add((rec, PL.pinned, Literal(assigned[twin, s.pilot].pinned)))
                    _explanation(g, rec, cat, c.explanation(twin, s.pilot))
                    for i, t in enumerate(topics[twin, s.pilot]):
                        _topic(g, URIRef(f"{rec}/topic/{i + 1}"), rec, t, run)
    return g


def _recommendation(g: Graph, rec: URIRef, cat, s, rank: int, run: URIRef) -> None:
    g.add((rec, RDF.type, PL.Recommendation))
    g.add((rec, PL.twin, URIRef(cat.twins[s.twin].iri)))
    g.add((rec, PL.pilot, URIRef(cat.pilots[s.pilot].iri)))
    g.add((rec, PL.rank, Literal(rank, datatype=XSD.integer)))
    g.add((rec, PL.twinScore, dec(s.twin_score)))
    g.add((rec, PL.pilotScore, dec(s.pilot_score)))
    g.add((rec, PL.score, dec(s.score)))
    for direction, parts in ((TWIN_FROM_PILOT, s.twin_parts), (PILOT_FROM_TWIN, s.pilot_parts)):
        for name, value in sorted(parts.items()):
            node = URIRef(f"{rec}/signal/{_DIRECTION_SLUG[direction]}/{name}")
            g.add((rec, PL.signalScore, node))
            g.add((node, RDF.type, PL.SignalScore))
            g.add((node, PL.signalName, Literal(name)))
            g.add((node, PL.direction, _DIRECTION[direction]))
            g.add((node, PL.value, dec(value)))
    g.add((rec, PROV.wasGeneratedBy, run))


def _explanation(g: Graph, rec: URIRef, cat, e) -> None:
    g.add((rec, PL.weak, Literal(e.weak)))
    g.add((rec, PL.candidateCount, Literal(e.candidates, datatype=XSD.integer)))
    if e.first_choice:
        g.add((rec, PL.firstChoice, URIRef(cat.pilots[e.first_choice].iri)))
    if e.alternative_cost is not None:
        g.add((rec, PL.alternativeCost, dec(e.alternative_cost)))
    g.add((rec, PL.explanation, Literal(e.words(cat.twin_name, cat.pilot_name), lang="en")))
    for b in e.better:
        node = URIRef(f"{rec}/passed-over/{b.rank}")
        g.add((rec, PL.passedOver, node))
        g.add((node, RDF.type, PL.PassedOver))
        g.add((node, PL.pilot, URIRef(cat.pilots[b.pilot].iri)))
        g.add((node, PL.rank, Literal(b.rank, datatype=XSD.integer)))
        g.add((node, PL.full, Literal(b.full)))
        g.add((node, PL.load, Literal(b.load, datatype=XSD.integer)))
        g.add((node, PL.capacity, Literal(b.capacity, datatype=XSD.integer)))
        for t in b.taken_by:
            g.add((node, PL.takenBy, URIRef(cat.twins[t].iri)))


def _topic(g: Graph, node: URIRef, rec: URIRef, t, run: URIRef) -> None:
    g.add((node, RDF.type, PL.LearningTopic))
    g.add((node, PL.topicOf, rec))
    g.add((node, RDFS.label, Literal(t.title, lang="en")))
    g.add((node, PL.direction, _DIRECTION[t.direction]))
    g.add((node, PL.module, MOD[t.module]))
    g.add((node, PL.evidencePath, Literal(t.evidence.words, lang="en")))
    if t.concept:
        g.add((node, PL.evidence, URIRef(t.concept)))
    for q in t.questions:
        g.add((node, PL.question, Literal(q, lang="en")))
    g.add((node, PROV.wasGeneratedBy, run))


_DIRECTION = {TWIN_FROM_PILOT: PL.TwinLearnsFromPilot, PILOT_FROM_TWIN: PL.PilotLearnsFromTwin}
_DIRECTION_SLUG = {TWIN_FROM_PILOT: "twin-learns", PILOT_FROM_TWIN: "pilot-learns"}


def write_run(store, result, *, inputs: Sequence[str | os.PathLike] = (), model: str | None = None) -> Graph:
    """Replace the recommendations graph of ``store`` with this run's."""
    g = run_graph(result, inputs=inputs, model=model)
    store.replace_graph(GRAPHS.recommendations, g)
    return g
