"""The project's tabular format: four tables (cities, pilots, twins, narratives) as CSV files
in a folder, or as one YAML or JSON document with those four keys.

Every row is checked as it is read (required columns and fields, ids, numbers, concept codes,
references between tables) and a problem raises ``InputError`` naming the file, row and field.
Rows become RDF with ``to_graph``; the SHACL shapes check the result once more.

Over 500 lines: the reader's checks (CSV, and YAML/JSON with their size and alias-bomb limits)
and the RDF writer read the same column specs; kept together so a column's rule, its check and
its triples change in one file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, SKOS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.errors import InputError
from kg.namespaces import BAR, DATA, DOM, LEV, PL, SOL

SCHEMA = "https://schema.org/"
TABLES = ("cities", "pilots", "twins", "narratives")
ID_RE = re.compile(r"^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$")
CITY_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

# column -> (required?, kind). kinds: id, str, int, float, bool, list, ints, concepts:<scheme>, ref:<table>
COLUMNS: dict[str, dict[str, tuple[bool, str]]] = {
    "cities": {
        "id": (True, "cityid"), "name": (True, "str"), "country": (True, "country"),
        "population": (False, "int"), "latitude": (False, "lat"), "longitude": (False, "lon"),
        "mission_city": (False, "bool"), "mission_label_round": (False, "str"),
        "geonames_id": (False, "int"), "ccc_file": (False, "str"), "alt_names": (False, "list"),
    },
    "pilots": {
        "id": (True, "id"), "cohort": (True, "int"), "title": (True, "str"), "acronym": (False, "str"),
        "cities": (False, "ref:cities"), "lead_city": (False, "ref:cities"),
        "open_to_cohorts": (False, "ints"), "capacity": (False, "int"),
        "domains_stated": (False, "concepts:domain"), "domains_inferred": (False, "concepts:domain"),
        "levers_stated": (False, "concepts:lever"), "levers_inferred": (False, "concepts:lever"),
        "barriers_stated": (False, "concepts:barrier"), "barriers_inferred": (False, "concepts:barrier"),
        "solutions": (False, "concepts:solution"), "summary": (False, "str"), "sources": (False, "list"),
    },
    "twins": {
        "id": (True, "id"), "city": (True, "ref:cities"), "cohort": (True, "int"),
        "interests": (False, "str"),
        "domains_stated": (False, "concepts:domain"), "domains_inferred": (False, "concepts:domain"),
        "levers_stated": (False, "concepts:lever"), "levers_inferred": (False, "concepts:lever"),
        "barriers_stated": (False, "concepts:barrier"), "barriers_inferred": (False, "concepts:barrier"),
        "experience_domains": (False, "concepts:domain"), "sources": (False, "list"),
    },
    "narratives": {
        "subject": (True, "subject"), "lang": (False, "lang"), "text": (True, "str"),
        "source": (False, "str"),
    },
}

SINGULAR = {"cities": "city", "pilots": "pilot", "twins": "twin", "narratives": "narrative"}
SCHEME_NS = {"domain": DOM, "lever": LEV, "barrier": BAR, "solution": SOL}


@dataclass
class Row:
    table: str
    path: str
    line: int                       # 1-based row number in the file (header is row 1)
    values: dict[str, object]


@dataclass
class TabularData:
    rows: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def __len__(self) -> int:
        return sum(len(v) for v in self.rows.values())


# ---------------------------------------------------------------------------- reading

def read_tabular(sources: Iterable[str | Path], vocab: dict[str, set[str]]) -> TabularData:
    """Read CSV folders / CSV files / YAML / JSON documents into checked rows.

    ``vocab`` maps a scheme name to its concept codes (see ``kg.ontology.vocabulary_codes``).
    """
    data = TabularData()
    for src in sources:
        src = Path(src)
        if src.is_dir():
            found = False
            for t in TABLES:
                f = src / f"{t}.csv"
                if f.exists():
                    found = True
                    data.rows[t].extend(_read_csv(f, t))
            if not found:
                raise InputError(f"no {', '.join(t + '.csv' for t in TABLES)} in this folder", path=src)
        elif src.suffix.lower() == ".csv":
            table = src.stem
            if table not in TABLES:
                raise InputError(f"a CSV file must be named after its table ({', '.join(TABLES)})", path=src)
            data.rows[table].extend(_read_csv(src, table))
        elif src.suffix.lower() in (".yaml", ".yml", ".json"):
            for table, rows in _read_document(src).items():
                data.rows[table].extend(rows)
        else:
            raise InputError("not a tabular file (expected a folder, .csv, .yaml, .yml or .json)", path=src)
    _check(data, vocab)
    return data


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path) from None
    if b"\x00" in raw:
        raise InputError("binary file (contains NUL bytes), expected UTF-8 text", path=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at line {line}); "
                         "save the file as UTF-8", path=path) from None


def read_csv_records(path: str | Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """A small CSV file (facilitator pins, known pairings) as (row number, record) pairs, with
    the same encoding checks as the tabular reader and the ``required`` columns checked."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    text = _read_text(path)
    if not text.strip():
        raise InputError("empty file", path=path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    for col in required:
        if col not in header:
            raise InputError(f"missing column {col!r} (expected {','.join(required)})", path=path, row=1, field=col)
    try:
        return [(i, {k.strip(): (v or "").strip() for k, v in rec.items() if k})
                for i, rec in enumerate(reader, start=2)]
    except csv.Error as e:
        raise InputError(f"malformed CSV ({e})", path=path, row=reader.line_num) from None


def _read_csv(path: Path, table: str) -> list[Row]:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file (no header row)", path=path) from None
    except csv.Error as e:
        raise InputError(f"malformed CSV ({e})", path=path, row=1) from None
    header = [h.strip() for h in header]
    spec = COLUMNS[table]
    unknown = [h for h in header if h not in spec]
    if unknown:
        raise InputError(f"unknown column {unknown[0]!r}; {table} columns are {', '.join(spec)}",
                         path=path, row=1, field=unknown[0])
    for col, (required, _) in spec.items():
        if required and col not in header:
            raise InputError(f"missing required column {col!r}", path=path, row=1, field=col)
    rows = []
    try:
        for i, rec in enumerate(reader, start=2):
            if not any(c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                raise InputError(f"{len(rec)} fields where the header has {len(header)}",
                                 path=path, row=i)
            rows.append(Row(table, str(path), i, dict(zip(header, rec))))
    except csv.Error as e:
        raise InputError(f"malformed CSV ({e})", path=path, row=reader.line_num) from None
    return rows


# A YAML or JSON document is read whole into memory (and YAML takes about 100 times its size),
# so it is bounded; bigger data goes in CSV files. YAML aliases (``*name``) may repeat an
# anchored node, but may not make the document grow past ALIAS_FACTOR times the nodes written
# (once past ALIAS_FLOOR nodes): a "billion laughs" document of 1 kB would otherwise expand
# to 10^9 values.
MAX_DOCUMENT_BYTES = 16 * 2**20
ALIAS_FACTOR = 10
ALIAS_FLOOR = 100_000


class _AliasBomb(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _yaml_loader():
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 4x faster

    class BoundedLoader(base):
        def get_single_node(self):
            node = super().get_single_node()
            if node is not None:
                _check_expansion(node)
            return node

    return BoundedLoader


def _check_expansion(root) -> None:
    """Refuse a composed YAML node graph whose aliases expand it past the limits, or that
    contains itself. Each node is visited once (sizes are memoised), so this is linear in the
    document however large the expansion."""
    import yaml

    def children(node):
        if isinstance(node, yaml.MappingNode):
            return [n for kv in node.value for n in kv]
        if isinstance(node, yaml.SequenceNode):
            return node.value
        return []

    size: dict[int, int] = {}
    open_: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            size[id(node)] = 1 + sum(size[id(c)] for c in children(node))
            open_.discard(id(node))
            continue
        if id(node) in size:
            continue
        open_.add(id(node))
        stack.append((node, True))
        for c in children(node):
            if id(c) in open_:
                raise _AliasBomb("refused YAML: an alias refers to a node that contains it", c.start_mark.line + 1)
            if id(c) not in size:
                stack.append((c, False))
    written, expanded = len(size), size[id(root)]
    if expanded > ALIAS_FLOOR and expanded > ALIAS_FACTOR * written:
        raise _AliasBomb(f"refused YAML: aliases expand {written:,} nodes to {expanded:,} "
                         f"(at most {ALIAS_FACTOR} times the nodes written); write the values out")


def _read_document(path: Path) -> dict[str, list[Row]]:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path) from None
    if size > MAX_DOCUMENT_BYTES:
        raise InputError(f"document of {size / 2**20:.0f} MB; a YAML or JSON document may be at most "
                         f"{MAX_DOCUMENT_BYTES // 2**20} MB (use CSV files for bigger data)", path=path)
    text = _read_text(path)
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except _AliasBomb as e:
        raise InputError(str(e), path=path, line=e.line) from None
    except RecursionError:
        raise InputError("document nested too deeply", path=path) from None
    except Exception as e:  # yaml.YAMLError and friends
        mark = getattr(e, "problem_mark", None)
        raise InputError(f"malformed YAML: {getattr(e, 'problem', None) or e}", path=path,
                         line=mark.line + 1 if mark else None) from None
    if doc is None:
        raise InputError("empty document", path=path)
    if not isinstance(doc, dict):
        raise InputError(f"the document must be a mapping with keys {', '.join(TABLES)}", path=path)
    unknown = [k for k in doc if k not in TABLES]
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}; tables are {', '.join(TABLES)}", path=path,
                         field=str(unknown[0]))
    out: dict[str, list[Row]] = {}
    for table, recs in doc.items():
        if not isinstance(recs, list):
            raise InputError(f"{table} must be a list of records", path=path, field=table)
        spec = COLUMNS[table]
        rows = []
        for i, rec in enumerate(recs, start=1):
            where = {"path": path, "row": i}
            if not isinstance(rec, dict):
                raise InputError(f"{table} record is not a mapping", **where)
            for k, v in rec.items():
                if k not in spec:
                    raise InputError(f"unknown field {k!r} in {table}", field=str(k), **where)
                if isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v)):
                    raise InputError("expected a value or a list of values, not a nested structure",
                                     field=str(k), **where)
            for col, (required, _) in spec.items():
                if required and col not in rec:
                    raise InputError(f"missing required field {col!r} in {table}", field=col, **where)
            vals = {k: _docval(v) for k, v in rec.items()}
            rows.append(Row(table, f"{path} [{table}]", i, vals))
        out[table] = rows
    return out


def _docval(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---------------------------------------------------------------------------- checking

def _check(data: TabularData, vocab: dict[str, set[str]]) -> None:
    seen: dict[str, dict[str, Row]] = {t: {} for t in TABLES}
    for table in ("cities", "pilots", "twins"):
        for row in data.rows[table]:
            rid = str(row.values.get("id", "")).strip()
            if rid in seen[table]:
                first = seen[table][rid]
                raise InputError(f"duplicate {SINGULAR[table]} id {rid!r} (first at row {first.line})",
                                 path=row.path, row=row.line, field="id")
            seen[table][rid] = row
    # pilot and twin ids share one namespace with nothing else, but must not collide
    clash = set(seen["pilots"]) & set(seen["twins"])
    if clash:
        rid = sorted(clash)[0]
        row = seen["twins"][rid]
        raise InputError(f"id {rid!r} is used by a pilot and a twin", path=row.path, row=row.line, field="id")
    city_ids = set(seen["cities"])
    subjects = set(seen["pilots"]) | set(seen["twins"]) | city_ids
    for table in TABLES:
        spec = COLUMNS[table]
        for row in data.rows[table]:
            parsed = {}
            for col, (required, kind) in spec.items():
                raw = str(row.values.get(col, "") or "").strip()
                if not raw:
                    if required:
                        raise InputError("required value is empty", path=row.path, row=row.line, field=col)
                    parsed[col] = _empty(kind)
                    continue
                parsed[col] = _parse(raw, kind, row, col, vocab, city_ids, subjects)
            row.values = parsed


def _empty(kind: str):
    if kind in ("list", "ints") or kind.startswith("concepts:") or kind == "ref:cities":
        return []
    if kind in ("int", "lat", "lon"):
        return None
    if kind == "bool":
        return False
    return ""


def _parse(raw, kind, row, col, vocab, city_ids, subjects):
    def bad(msg):
        return InputError(msg, path=row.path, row=row.line, field=col)

    if kind == "str":
        return raw
    if kind == "id":
        if not ID_RE.match(raw):
            raise bad(f"{raw!r} is not a valid id (letters, digits, '-', '_' or '.')")
        return raw
    if kind == "cityid":
        if not CITY_ID_RE.match(raw):
            raise bad(f"{raw!r} is not a valid city id (lower-case ASCII words joined by '-')")
        return raw
    if kind == "country":
        if not COUNTRY_RE.match(raw):
            raise bad(f"{raw!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE)")
        return raw
    if kind == "lang":
        if not re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$", raw):
            raise bad(f"{raw!r} is not a language tag (e.g. en)")
        return raw
    if kind == "int":
        try:
            v = int(raw)
        except ValueError:
            raise bad(f"{raw!r} is not a whole number") from None
        if v < 0:
            raise bad(f"{v} is negative")
        return v
    if kind in ("lat", "lon"):
        try:
            v = float(raw)
        except ValueError:
            raise bad(f"{raw!r} is not a number") from None
        lim = 90 if kind == "lat" else 180
        if not -lim <= v <= lim:
            raise bad(f"{v} is outside [-{lim}, {lim}]")
        return v
    if kind == "bool":
        low = raw.lower()
        if low in ("true", "yes", "y", "1"):
            return True
        if low in ("false", "no", "n", "0"):
            return False
        raise bad(f"{raw!r} is not true or false")
    items = [x.strip() for x in raw.split(";") if x.strip()]
    if kind == "list":
        return items
    if kind == "ints":
        out = []
        for x in items:
            if not x.isdigit():
                raise bad(f"{x!r} is not a whole number")
            out.append(int(x))
        return out
    if kind == "ref:cities":
        for x in items:
            if x not in city_ids:
                raise bad(f"unknown city id {x!r} (not in the cities table)")
        return items
    if kind == "subject":
        if raw not in subjects:
            raise bad(f"unknown subject {raw!r} (not a pilot, twin or city id)")
        return raw
    if kind.startswith("concepts:"):
        scheme = kind.split(":", 1)[1]
        codes = vocab.get(scheme, set())
        for x in items:
            if x not in codes:
                raise bad(f"unknown {scheme} concept {x!r}; known: {', '.join(sorted(codes))}")
        return items
    raise AssertionError(kind)


# ---------------------------------------------------------------------------- to RDF

def city_iri(cid: str) -> URIRef:
    return DATA[f"city/{cid}"]


def pilot_iri(pid: str) -> URIRef:
    return DATA[f"pilot/{pid}"]


def twin_iri(tid: str) -> URIRef:
    return DATA[f"twin/{tid}"]


def cohort_iri(n: int) -> URIRef:
    return DATA[f"cohort/{n}"]


def to_graph(data: TabularData) -> Graph:
    """The RDF of checked tabular data."""
    g = Graph()
    g.bind("pl", str(PL))
    g.bind("schema", SCHEMA)
    sch = lambda n: URIRef(SCHEMA + n)  # noqa: E731
    cohorts: set[int] = set()
    for r in data.rows["cities"]:
        v = r.values
        c = city_iri(v["id"])
        g.add((c, RDF.type, PL.City))
        if v["mission_city"]:
            g.add((c, RDF.type, PL.MissionCity))
        g.add((c, DCTERMS.identifier, Literal(v["id"])))
        g.add((c, sch("name"), Literal(v["name"])))
        g.add((c, RDFS.label, Literal(v["name"])))
        g.add((c, sch("addressCountry"), Literal(v["country"])))
        if v["population"] is not None:
            g.add((c, sch("population"), Literal(v["population"], datatype=XSD.integer)))
        if v["latitude"] is not None and v["longitude"] is not None:
            g.add((c, sch("latitude"), Literal(v["latitude"], datatype=XSD.double)))
            g.add((c, sch("longitude"), Literal(v["longitude"], datatype=XSD.double)))
        if v["geonames_id"] is not None:
            g.add((c, PL.geonamesId, Literal(v["geonames_id"], datatype=XSD.integer)))
            g.add((c, OWL.sameAs, URIRef(f"https://sws.geonames.org/{v['geonames_id']}/")))
        if v["mission_label_round"]:
            g.add((c, PL.missionLabelRound, Literal(v["mission_label_round"])))
        if v["ccc_file"]:
            g.add((c, PL.cccFile, Literal(v["ccc_file"])))
        for alt in v["alt_names"]:
            g.add((c, SKOS.altLabel, Literal(alt)))
    for r in data.rows["pilots"]:
        v = r.values
        p = pilot_iri(v["id"])
        cohorts.add(v["cohort"])
        g.add((p, RDF.type, PL.PilotActivity))
        g.add((p, DCTERMS.identifier, Literal(v["id"])))
        g.add((p, DCTERMS.title, Literal(v["title"])))
        g.add((p, RDFS.label, Literal(v["acronym"] or v["title"])))
        g.add((p, PL.cohort, cohort_iri(v["cohort"])))
        if v["acronym"]:
            g.add((p, PL.acronym, Literal(v["acronym"])))
        for cid in v["cities"]:
            g.add((p, PL.runBy, city_iri(cid)))
        for cid in v["lead_city"]:
            g.add((p, PL.leadCity, city_iri(cid)))
            g.add((p, PL.runBy, city_iri(cid)))
        for n in v["open_to_cohorts"]:
            cohorts.add(n)
            g.add((p, PL.opensToCohort, cohort_iri(n)))
        if v["capacity"] is not None:
            g.add((p, PL.capacity, Literal(v["capacity"], datatype=XSD.integer)))
        if v["summary"]:
            g.add((p, DCTERMS.abstract, Literal(v["summary"], lang="en")))
        _sources(g, p, v["sources"])
        _links(g, p, v, [("domains", "domain", PL.worksInDomain), ("levers", "lever", PL.usesLever),
                         ("barriers", "barrier", PL.addressesBarrier)])
        for code in v["solutions"]:
            _link(g, p, PL.implementsSolution, SOL[code], "stated")
    for r in data.rows["twins"]:
        v = r.values
        t = twin_iri(v["id"])
        cohorts.add(v["cohort"])
        g.add((t, RDF.type, PL.TwinCity))
        g.add((t, DCTERMS.identifier, Literal(v["id"])))
        g.add((t, PL.twinCity, city_iri(v["city"][0])))
        g.add((t, PL.cohort, cohort_iri(v["cohort"])))
        if v["interests"]:
            g.add((t, PL.statedInterests, Literal(v["interests"], lang="en")))
        _sources(g, t, v["sources"])
        _links(g, t, v, [("domains", "domain", PL.interestedInDomain),
                         ("levers", "lever", PL.interestedInLever),
                         ("barriers", "barrier", PL.facesBarrier)])
        for code in v["experience_domains"]:
            _link(g, t, PL.experienceInDomain, DOM[code], "stated")
    for n in sorted(cohorts):
        c = cohort_iri(n)
        g.add((c, RDF.type, PL.Cohort))
        g.add((c, PL.cohortNumber, Literal(n, datatype=XSD.integer)))
        g.add((c, RDFS.label, Literal(f"Cohort {n}", lang="en")))
    counters: dict[str, int] = {}
    pilot_ids = {r.values["id"] for r in data.rows["pilots"]}
    twin_ids = {r.values["id"] for r in data.rows["twins"]}
    for r in data.rows["narratives"]:
        v = r.values
        subj = v["subject"]
        counters[subj] = counters.get(subj, 0) + 1
        s = pilot_iri(subj) if subj in pilot_ids else twin_iri(subj) if subj in twin_ids else city_iri(subj)
        n = DATA[f"narrative/{subj}/{counters[subj]}"]
        g.add((n, RDF.type, PL.Narrative))
        g.add((n, PL.text, Literal(v["text"], lang=v["lang"] or "en")))
        if v["source"]:
            g.add((n, DCTERMS.source, Literal(v["source"])))
        g.add((s, PL.narrative, n))
    return g


def _sources(g: Graph, s: URIRef, sources: list[str]) -> None:
    for src in sources:
        obj = URIRef(src) if re.match(r"^https?://\S+$", src) else Literal(src)
        g.add((s, DCTERMS.source, obj))


def _links(g, s, v, specs) -> None:
    for prefix, scheme, prop in specs:
        ns = SCHEME_NS[scheme]
        stated = v[f"{prefix}_stated"]
        for status in ("stated", "inferred"):
            for code in v[f"{prefix}_{status}"]:
                if status == "inferred" and code in stated:
                    continue  # stated wins over inferred
                _link(g, s, prop, ns[code], status)


def _link(g: Graph, s: URIRef, prop: URIRef, concept: URIRef, status: str,
          score: float = 1.0) -> None:
    """The direct triple, and a qualified pl:ConceptLink carrying status and score."""
    g.add((s, prop, concept))
    local = str(prop).rsplit("#", 1)[-1]
    code = str(concept).rstrip("/").rsplit("/", 1)[-1]
    link = URIRef(f"{s}/link/{local}/{code}")
    g.add((s, PL.hasConceptLink, link))
    g.add((link, RDF.type, PL.ConceptLink))
    g.add((link, PL.concept, concept))
    g.add((link, PL.linkProperty, prop))
    g.add((link, PL.status, PL.Stated if status == "stated" else PL.Inferred))
    g.add((link, PL.score, Literal(score, datatype=XSD.double)))
