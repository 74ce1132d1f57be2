"""Facilitators' decisions on proposed pairs: read from CSV, written into the knowledge graph
with provenance, read back for matching (declined pairs) and for ``fit`` (accepted pairs).

A decisions file is CSV with columns ``twin,pilot,decision`` and optional ``reason``,
``instead`` (for ``swapped``: the pilot activity the twin joined instead) and ``cohort`` (settles
a twin's name when its city was a twin twice). ``decision`` is ``accepted``, ``declined`` or
``swapped``. Names resolve as everywhere (``Catalog.find_twin`` / ``find_pilot``); the pilot
must be one the twin may join.

In the graph (named graph ``GRAPHS.feedback``, never replaced by a run), each decision is a
``pl:Decision`` with ``pl:twin``, ``pl:pilot``, ``pl:outcome`` (``pl:Accepted``,
``pl:Declined``, ``pl:Swapped``), optional ``pl:reason`` and ``pl:swappedTo``,
``prov:generatedAtTime`` and ``prov:wasGeneratedBy`` a ``pl:FeedbackRecording`` (time, software,
and the decisions file with its SHA-256, or a label saying it came from the web page). The
latest decision on a pair counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rdflib import PROV, RDF, XSD, Graph, Literal, URIRef

from kg.errors import InputError, NotFoundError
from kg.ingest.tabular import read_csv_records
from kg.model import Catalog
from kg.namespaces import DATA, GRAPHS, PL
from recommender.provenance import activity, add_inputs, hash_inputs

FEEDBACK_GRAPH = GRAPHS.feedback
OUTCOMES = {"accepted": PL.Accepted, "declined": PL.Declined, "swapped": PL.Swapped}
MAX_REASON = 2000          # characters of a reason kept


@dataclass(frozen=True)
class Decision:
    twin: str              # twin id
    pilot: str             # pilot id
    decision: str          # accepted, declined, swapped
    reason: str = ""
    instead: str = ""      # pilot id (swapped)
    when: str = ""         # xsd:dateTime, when read back from the graph


def resolve(cat: Catalog, twin: str, pilot: str, decision: str, *, reason: str = "", instead: str = "",
            cohort: int | None = None) -> Decision:
    """One decision from names (ids or names), checked; ``InputError``/``NotFoundError`` name
    the field at fault (the caller adds the file and row)."""
    d = (decision or "").strip().lower()
    if d not in OUTCOMES:
        raise InputError(f"decision {decision!r}: expected one of {', '.join(OUTCOMES)}", field="decision")
    try:
        t = cat.find_twin((twin or "").strip(), cohort=cohort)
    except NotFoundError as e:
        raise InputError(str(e), field="twin") from None
    p = _pilot(cat, pilot, "pilot")
    other = _pilot(cat, instead, "instead") if (instead or "").strip() else None
    for q in (p, other):
        if q is not None and not ((q.cohort == t.cohort or t.cohort in q.open_to_cohorts) and t.city not in q.cities):
            raise InputError(f"{q.id} is not a pilot activity {t.id} may join", field="pilot" if q is p else "instead")
    if other is not None and d != "swapped":
        raise InputError(f"'instead' is for swapped decisions, not {d}", field="instead")
    return Decision(t.id, p.id, d, (reason or "").strip()[:MAX_REASON], other.id if other else "")


def _pilot(cat: Catalog, name: str, field: str):
    try:
        return cat.find_pilot((name or "").strip())
    except NotFoundError as e:
        raise InputError(str(e), field=field) from None


def read_decisions(path: str | Path, cat: Catalog) -> list[Decision]:
    """Every row of a decisions CSV, or an ``InputError`` naming the file, row and field."""
    out = []
    for i, r in read_csv_records(Path(path), ("twin", "pilot", "decision")):
        cohort = None
        if (r.get("cohort") or "").strip():
            try:
                cohort = int(r["cohort"])
            except ValueError:
                raise InputError(f"{r['cohort']!r} is not a cohort number", path=path, row=i, field="cohort") from None
        try:
            out.append(resolve(cat, r["twin"], r["pilot"], r["decision"], reason=r.get("reason") or "",
                               instead=r.get("instead") or "", cohort=cohort))
        except InputError as e:
            raise InputError(e.message, path=path, row=i, field=e.field) from None
    if not out:
        raise InputError("no decisions in the file", path=path)
    return out


def decisions_graph(cat: Catalog, decisions: list[Decision], *, source: str | Path | None = None,
                    label: str = "", when: datetime | None = None) -> Graph:
    """The RDF of one recording: the activity (reading ``source``, else described by ``label``)
    and its decisions."""
    when = when or datetime.now(UTC).replace(microsecond=0)
    inputs = hash_inputs([source]) if source is not None else []
    key = "|".join([when.isoformat(), *(i[1] for i in inputs),
                    *(f"{d.twin}>{d.pilot}:{d.decision}:{d.instead}:{d.reason}" for d in decisions)])
    rid = hashlib.sha256(key.encode()).hexdigest()[:16]
    run = DATA[f"feedback/{rid}"]
    g = Graph()
    activity(g, run, PL.FeedbackRecording, when, label or f"facilitator decisions {rid}")
    add_inputs(g, run, inputs)
    stamp = Literal(when.isoformat(), datatype=XSD.dateTime)
    for n, d in enumerate(decisions, start=1):
        node = DATA[f"feedback/{rid}/decision/{n}"]
        g.add((node, RDF.type, PL.Decision))
        g.add((node, RDF.type, PROV.Entity))
        g.add((node, PL.twin, URIRef(cat.twins[d.twin].iri)))
        g.add((node, PL.pilot, URIRef(cat.pilots[d.pilot].iri)))
        g.add((node, PL.outcome, OUTCOMES[d.decision]))
        if d.reason:
            g.add((node, PL.reason, Literal(d.reason, datatype=XSD.string)))
        if d.instead:
            g.add((node, PL.swappedTo, URIRef(cat.pilots[d.instead].iri)))
        g.add((node, PROV.generatedAtTime, stamp))
        g.add((node, PROV.wasGeneratedBy, run))
    return g


def record(store, graph: Graph) -> None:
    """Add ``graph`` to the feedback graph of ``store`` (what was recorded before stays)."""
    merged = store.graph(FEEDBACK_GRAPH)
    for t in graph:
        merged.add(t)
    store.replace_graph(FEEDBACK_GRAPH, merged)


_READ = """
PREFIX pl: <https://w3id.org/peerlearn/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?twin ?pilot ?outcome ?reason ?instead ?when WHERE {
  GRAPH <FEEDBACK> {
    ?d a pl:Decision ; pl:twin ?twin ; pl:pilot ?pilot ; pl:outcome ?outcome ; prov:generatedAtTime ?when .
    OPTIONAL { ?d pl:reason ?reason }
    OPTIONAL { ?d pl:swappedTo ?instead }
  }
} ORDER BY ?when ?d
""".replace("FEEDBACK", str(FEEDBACK_GRAPH))


def latest_decisions(store, cat: Catalog) -> dict[tuple[str, str], Decision]:
    """``(twin id, pilot id) -> Decision``, the latest per pair, read from the graph. Decisions
    on twins or pilots no longer in the catalog are left out."""
    twins = {t.iri: t.id for t in cat.twins.values()}
    pilots = {p.iri: p.id for p in cat.pilots.values()}
    names = {str(v): k for k, v in OUTCOMES.items()}
    out: dict[tuple[str, str], Decision] = {}
    for r in store.select_values(_READ):
        t, p = twins.get(r["twin"]), pilots.get(r["pilot"])
        if t is None or p is None or r["outcome"] not in names:
            continue
        out[(t, p)] = Decision(t, p, names[r["outcome"]], r.get("reason") or "",
                               pilots.get(r.get("instead") or "", ""), r["when"])
    return out


def declined_pairs(store, cat: Catalog) -> frozenset[tuple[str, str]]:
    """Pairs whose latest decision is ``declined``: not proposed again unless asked."""
    return frozenset(k for k, d in latest_decisions(store, cat).items() if d.decision == "declined")


def chosen_pairs(store, cat: Catalog) -> list[tuple[str, str]]:
    """``(twin, pilot)`` a facilitator confirmed: accepted pairs, and the pilot a swapped twin
    joined instead; what ``fit --feedback`` learns from."""
    out = []
    for (t, p), d in sorted(latest_decisions(store, cat).items()):
        if d.decision == "accepted":
            out.append((t, p))
        elif d.decision == "swapped" and d.instead:
            out.append((t, d.instead))
    return list(dict.fromkeys(out))
