"""Deterministic synthetic data in peerlearn's tabular format, for scale tests and benchmarks.

Run: ``.venv/bin/python scripts/synth.py --cities 10000 --seed 1 --out /tmp/synth-10k``

Writes ``cities.csv``, ``pilots.csv``, ``twins.csv``, ``narratives.csv`` (the format of
``kg/ingest/tabular.py``, read by ``peerlearn build DIR``) and ``planted.csv`` into ``--out``.
The same ``--seed`` and ``--cities`` give byte-identical files.

What is generated:

* **cities**: unique invented names (ASCII, so ids are their lower-case slugs) in ~30 European
  countries weighted by size, coordinates inside each country's rough bounding box, lognormal
  populations (median ~45k, capped at 4M), ~10% Mission Cities.
* **pilot activities** (~5% of the cities, ``C<cohort>-<n>``): each has a theme (a primary
  domain and 1-2 solution types related to it), barriers and levers drawn mostly from the
  vocabulary's ``skos:related`` links of its solutions, stated or inferred; ~20% run by 2-5
  cities of one country; ~15% open to the next cohort; some have a capacity.
* **twins** (~5% of the cities, never a pilot city, ``T<cohort>-<city id>``), spread over
  cohorts ``1..--cohorts`` (default 3 at 1k, 5 at 10k, 7 at 100k).
* **narratives**: one per pilot and per twin, 60-100 words from varied sentence templates
  filled with concept labels and definitions (``kg.ontology``), so the real embedding model
  sees realistic, overlapping climate-policy prose.

**Planted structure** (evaluation data only; never an input to scoring): each twin gets a
"true" pilot among its eligible ones (same cohort, or an earlier one open to it; not run by its
own city). The twin's stated barriers, domains and levers and its narrative overlap that
pilot's, with noise (dropped concepts, extra random ones, different wording), and some twins
(~25%) state no concepts at all. ``planted.csv`` (columns ``twin_city, twin_cohort, pilot_id``)
is what ``peerlearn evaluate --pairings`` reads.

The concept codes are the real ones, read from ``kg.ontology.vocabulary_codes()``.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kg.ingest.tabular import COLUMNS  # noqa: E402
from kg.ontology import ontology_graph, vocabulary_codes  # noqa: E402

# country: (weight, lat_min, lat_max, lon_min, lon_max, name syllable flavour)
COUNTRIES: dict[str, tuple[float, float, float, float, float, str]] = {
    "DE": (14, 47.5, 54.8, 6.0, 14.8, "de"), "FR": (12, 43.3, 50.9, -1.5, 7.5, "fr"),
    "IT": (11, 38.0, 46.5, 7.5, 16.5, "it"), "ES": (9, 36.5, 43.5, -8.5, 3.0, "es"),
    "PL": (7, 50.0, 54.5, 14.5, 23.5, "pl"), "NL": (4, 51.3, 53.4, 3.5, 7.0, "nl"),
    "BE": (3, 49.6, 51.4, 2.6, 6.3, "nl"), "PT": (3, 37.0, 42.0, -9.2, -6.3, "es"),
    "SE": (3, 55.5, 65.0, 11.5, 21.0, "no"), "AT": (2.5, 46.5, 48.9, 9.7, 16.9, "de"),
    "CZ": (3, 48.7, 51.0, 12.2, 18.8, "pl"), "RO": (4, 43.8, 48.2, 21.0, 29.5, "ro"),
    "HU": (2.5, 45.8, 48.5, 16.2, 22.8, "hu"), "GR": (3, 35.0, 41.5, 20.5, 26.5, "gr"),
    "BG": (2, 41.3, 44.2, 22.5, 28.5, "ro"), "DK": (1.5, 54.6, 57.7, 8.2, 12.6, "no"),
    "FI": (1.5, 60.0, 66.0, 21.5, 30.0, "fi"), "IE": (1.5, 51.5, 55.3, -10.3, -6.0, "en"),
    "SK": (1.5, 47.8, 49.6, 17.0, 22.5, "pl"), "HR": (1.2, 42.5, 46.5, 13.6, 19.4, "pl"),
    "SI": (0.8, 45.4, 46.8, 13.4, 16.5, "pl"), "LT": (0.8, 54.0, 56.4, 21.0, 26.8, "fi"),
    "LV": (0.6, 56.0, 58.0, 21.0, 28.0, "fi"), "EE": (0.5, 57.6, 59.6, 22.0, 28.0, "fi"),
    "LU": (0.2, 49.5, 50.1, 5.8, 6.5, "fr"), "CY": (0.2, 34.6, 35.6, 32.3, 34.0, "gr"),
    "MT": (0.1, 35.8, 36.0, 14.2, 14.6, "it"), "NO": (1.5, 58.0, 66.0, 5.5, 12.0, "no"),
    "TR": (5, 37.0, 41.5, 27.0, 40.0, "gr"), "UA": (3, 46.5, 51.5, 23.5, 38.0, "pl"),
    "IS": (0.1, 63.5, 66.0, -22.5, -14.0, "no"), "CH": (1.5, 45.9, 47.7, 6.1, 10.4, "de"),
}
# name parts per flavour: (prefixes, middles, suffixes)
SYLLABLES = {
    "de": (["Al", "Bern", "Dorn", "Eich", "Falk", "Gross", "Hal", "Kirch", "Lin", "Mar", "Neu", "Ober",
            "Ros", "Stein", "Wal", "Wies", "Brem", "Hoch", "Kalt", "Sonn"],
           ["", "den", "ten", "ber", "sel", "au", "len", "ring"], ["burg", "dorf", "feld", "hausen", "heim",
                                                                   "stadt", "bach", "berg", "hof", "ingen"]),
    "fr": (["Beau", "Bel", "Char", "Cler", "Font", "Gren", "Lan", "Mont", "Pon", "Roch", "Saint", "Val",
            "Ver", "Vil", "Sau", "Cham", "Mar", "Bri", "Cour", "Lor"],
           ["", "e", "ai", "on", "er", "il"], ["ville", "mont", "court", "ac", "y", "bourg", "lieu", "nay",
                                               "gny", "val"]),
    "it": (["Alba", "Bel", "Borgo", "Castel", "Fio", "Lu", "Mon", "Pa", "Ri", "San", "Ter", "Val", "Vi",
            "Ca", "Sa", "Po", "Ro", "Fe", "Gra", "Ma"],
           ["", "ra", "la", "ve", "no", "ri"], ["ano", "ello", "ina", "ona", "ate", "ese", "ino", "ara",
                                                "azzo", "ento"]),
    "es": (["Al", "Bena", "Cas", "Cor", "Es", "Gua", "Mon", "Ol", "Pal", "San", "Tor", "Val", "Vi", "Za",
            "Bar", "Ler", "Al", "Fuen", "Mur", "Sego"],
           ["", "ca", "la", "de", "ri", "ta"], ["ena", "ejo", "illa", "ares", "osa", "ueira", "al", "ar",
                                               "edo", "ia"]),
    "pl": (["Bia", "Brze", "Cho", "Gli", "Kra", "Lu", "Ny", "Ost", "Pra", "Ry", "Sta", "Tar", "Wro", "Zla",
            "Dob", "Kos", "Mla", "Pod", "Sla", "Zy"],
           ["", "no", "sto", "bi", "lo", "vi"], ["wice", "ow", "nik", "ec", "ava", "ov", "any", "ice", "ovo",
                                                "in"]),
    "nl": (["Am", "Bre", "Del", "Ede", "Gou", "Har", "Lei", "Mid", "Oost", "Roer", "Vlie", "Zwol", "Dron",
            "Heer", "Ween", "Kor", "Mech", "Ter", "Wes", "Zand"],
           ["", "de", "ter", "en", "el"], ["dam", "veen", "wijk", "hoven", "drecht", "kerk", "burg", "sel",
                                          "huizen", "gem"]),
    "no": (["Ar", "Berg", "Ble", "Dal", "Fjell", "Got", "Hel", "Kal", "Lund", "Mal", "Nor", "Os", "Sand",
            "Tron", "Upp", "Ves", "Kir", "Lil", "Sto", "Vik"],
           ["", "e", "s", "by", "s"], ["by", "vik", "sund", "holm", "stad", "borg", "toft", "rup", "nes",
                                      "ang"]),
    "ro": (["Bra", "Cra", "Dro", "Fo", "Ga", "Ia", "Lu", "Me", "Pi", "Sli", "Ti", "Va", "Bu", "Ploi",
            "Ru", "Se", "Do", "Ca", "Ha", "Zi"],
           ["", "ra", "ne", "ti", "ga"], ["sti", "ova", "ani", "esti", "eni", "grad", "ita", "ea", "ul", "ov"]),
    "hu": (["Bu", "De", "Eg", "Gyo", "Ke", "Mis", "Nyi", "Pe", "Sze", "So", "Tata", "Va", "Za", "Ba",
            "Ho", "Ki", "Mo", "Sal", "To", "Ve"],
           ["", "ke", "re", "bo", "ge"], ["rvar", "hely", "halom", "falva", "szeg", "vany", "doros", "csaba",
                                         "keszi", "laka"]),
    "gr": (["Ala", "Ere", "Kala", "Kori", "Lari", "Mela", "Nea", "Pala", "Rodo", "Seri", "Theo", "Xan",
            "Ame", "Ela", "Ira", "Kato", "Lefk", "Meso", "Ory", "Poly"],
           ["", "mi", "ni", "po", "ri"], ["polis", "kastro", "chori", "nisi", "oupoli", "ada", "ina",
                                         "ia", "os", "ani"]),
    "fi": (["Hyv", "Jar", "Kok", "Lah", "Mik", "Oul", "Por", "Rau", "Sav", "Tam", "Vaa", "Kuo", "Lap",
            "Ruk", "Sii", "Tor", "Val", "Kau", "Pie", "Ala"],
           ["", "en", "ma", "ka", "la"], ["koski", "nen", "lahti", "järvi", "vaara", "salo", "mäki", "niemi",
                                         "joki", "ranta"]),
    "en": (["Ash", "Bally", "Carr", "Dun", "Ennis", "Glen", "Kil", "Lis", "Mull", "New", "Rath", "Tul",
            "Bray", "Clon", "Dro", "Kin", "Let", "Mal", "Port", "Wex"],
           ["", "ar", "en", "more", "in"], ["ford", "town", "more", "bridge", "bury", "field", "ton",
                                           "wick", "haven", "bay"]),
}
EXTRA_WORDS = ["Nova", "Upper", "Lower", "North", "South", "East", "West", "Old", "New", "Grand",
               "Little", "Saint", "Port", "Lake", "Green"]
DOMAIN_NOUNS = {"buildings": "Retrofit", "energy": "Energy", "green": "Green", "industry": "Industry",
                "mobility": "Mobility", "waste": "Circular"}
TITLE_WORDS = ["Hub", "Lab", "Alliance", "Accelerator", "Compact", "Pathways", "Network", "Programme",
               "Partnership", "Initiative", "Missions", "Transition"]
TITLE_ADJ = ["Net-Zero", "Climate-Ready", "Green", "Smart", "Shared", "Inclusive", "Fair", "Local",
             "Rapid", "Integrated", "Resilient", "Open"]

PILOT_OPENERS = [
    "{acr} is a cohort-{cohort} pilot activity of {cities} ({country}) on {dom}.",
    "In {acr}, {cities} ({country}) work on {dom} as a cohort-{cohort} pilot activity.",
    "{cities} ({country}) run {acr}, a pilot activity of cohort {cohort} focused on {dom}.",
    "The cohort-{cohort} pilot activity {acr} brings {cities} ({country}) together around {dom}.",
]
TWIN_OPENERS = [
    "{city} ({country}, about {pop} inhabitants) joins cohort {cohort} of the twinning programme.",
    "{city} is a {country} city of about {pop} inhabitants taking part as a twin in cohort {cohort}.",
    "As a cohort-{cohort} twin city, {city} ({country}, roughly {pop} residents) looks for a pilot to learn from.",
    "{city}, home to about {pop} people in {country}, is a twin city of cohort {cohort}.",
]
SOLUTION_SENTENCES = [
    "It sets up {sol}: {sdef}",
    "At its core is {sol}. {sdef}",
    "The team builds {sol}, described as follows. {sdef}",
    "Its main instrument is {sol}. {sdef}",
]
TWIN_SOLUTION_SENTENCES = [
    "The city wants to learn how to set up {sol}.",
    "It is interested in {sol} and what it takes to run one.",
    "Local officers have looked at {sol} as a possible answer.",
    "The council asks whether {sol} could work in its own setting.",
]
BARRIER_SENTENCES = [
    "It tackles {bar}. {bdef}",
    "The main obstacle it works on is {bar}. {bdef}",
    "Partners report {bar} as the problem to solve. {bdef}",
    "It answers {bar}. {bdef}",
]
TWIN_BARRIER_SENTENCES = [
    "The city struggles with {bar}. {bdef}",
    "Its officers name {bar} as what holds it back. {bdef}",
    "Progress has been slowed by {bar}. {bdef}",
    "It faces {bar}. {bdef}",
]
LEVER_SENTENCES = [
    "It relies on {levs}.",
    "The approach uses {levs}.",
    "Work proceeds through {levs}.",
]
TWIN_LEVER_SENTENCES = [
    "It would like to make better use of {levs}.",
    "Its plan leans on {levs}.",
    "It hopes to strengthen {levs}.",
]
DOMAIN_SENTENCES = [
    "{ddef}",
    "The field in question: {ddef}",
    "This concerns {dom}. {ddef}",
]
FILLERS = [
    "A monitoring framework tracks progress against the Climate City Contract.",
    "Residents and local businesses are involved from the first workshop onwards.",
    "The municipality co-funds the work together with national programmes.",
    "Results are shared with other cities through study visits and online sessions.",
    "A small core team coordinates the partners and reports to the city council.",
    "Lessons from earlier projects inform the timeline and the budget.",
    "The work is planned over two years with a mid-term review.",
    "Universities and utilities contribute data, expertise and staff time.",
    "Political support has been secured across the main parties.",
    "The city expects the approach to scale to other districts later on.",
]


def default_cohorts(n_cities: int) -> int:
    """3 cohorts at 1k cities, 5 at 10k, 7 at 100k."""
    return max(1, round(3 + 2 * math.log10(max(n_cities, 1000) / 1000)))


@lru_cache(maxsize=1)
def concept_info() -> dict[str, dict[str, tuple[str, str, tuple[str, ...]]]]:
    """scheme -> code -> (label, definition, related codes as 'scheme:code'), from the ontology."""
    from rdflib import SKOS

    codes = vocabulary_codes()
    g = ontology_graph()
    prefix = "https://w3id.org/peerlearn/concept/"
    out: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {s: {} for s in codes}
    for scheme, scheme_codes in codes.items():
        for code in sorted(scheme_codes):
            iri = next(c for c in g.subjects(SKOS.notation, None)
                       if str(c).startswith(f"{prefix}{scheme}/") and str(c).endswith(f"/{code}"))
            label = str(g.value(iri, SKOS.prefLabel) or code)
            definition = str(g.value(iri, SKOS.definition) or "")
            related = tuple(sorted(str(r)[len(prefix):].replace("/", ":", 1)
                                   for r in g.objects(iri, SKOS.related) if str(r).startswith(prefix)))
            out[scheme][code] = (label, definition, related)
    return out


def _slug(name: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in s).split())


def _city_names(rng: random.Random, countries: list[str]) -> list[str]:
    seen: set[str] = set()
    names = []
    for cc in countries:
        pre, mid, suf = SYLLABLES[COUNTRIES[cc][5]]
        for attempt in range(50):
            name = rng.choice(pre) + rng.choice(mid) + rng.choice(suf)
            if attempt >= 3:
                name = f"{rng.choice(EXTRA_WORDS)} {name}"
            if attempt >= 10:
                name = f"{name} {rng.choice(EXTRA_WORDS)}"
            if attempt >= 20:
                name = f"{name} {attempt}"
            key = _slug(name)
            if key and key not in seen:
                break
        seen.add(key)
        names.append(name)
    return names


def _pick(rng: random.Random, items, k: int) -> list:
    items = sorted(items)
    return rng.sample(items, min(k, len(items)))


def _join(labels: list[str], *, lower: bool = True) -> str:
    if lower:
        labels = [x[0].lower() + x[1:] for x in labels]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def _lower(label: str) -> str:
    return label[0].lower() + label[1:]


def generate(n_cities: int, seed: int = 0, *, cohorts: int | None = None) -> dict[str, list[dict]]:
    """The four tables plus ``planted`` as lists of row dicts (CSV-ready strings and numbers)."""
    rng = random.Random(f"peerlearn-synth-{seed}-{n_cities}")
    info = concept_info()
    codes = {s: sorted(v) for s, v in vocabulary_codes().items()}
    n_cohorts = cohorts or default_cohorts(n_cities)

    # ---- cities
    ccs = sorted(COUNTRIES)
    weights = [COUNTRIES[c][0] for c in ccs]
    city_country = rng.choices(ccs, weights=weights, k=n_cities)
    names = _city_names(rng, city_country)
    cities = []
    for name, cc in zip(names, city_country):
        _, la0, la1, lo0, lo1, _ = COUNTRIES[cc]
        pop = int(min(4_000_000, max(2_000, rng.lognormvariate(math.log(45_000), 1.1))))
        cities.append({
            "id": _slug(name), "name": name, "country": cc, "population": pop,
            "latitude": f"{rng.uniform(la0, la1):.5f}", "longitude": f"{rng.uniform(lo0, lo1):.5f}",
            "mission_city": "true" if rng.random() < (0.35 if pop > 200_000 else 0.07) else "false",
        })
    by_country: dict[str, list[int]] = {}
    for i, c in enumerate(cities):
        by_country.setdefault(c["country"], []).append(i)

    # ---- pilots: ~5% of cities; their cities are never twins
    n_pilots = max(n_cohorts * 2, n_cities // 20)
    order = list(range(n_cities))
    rng.shuffle(order)
    pilot_city_pool = order[: int(n_cities * 0.12)]
    twin_pool = order[int(n_cities * 0.12):]
    pilot_cities_used: set[int] = set()
    pilot_pool_by_country: dict[str, list[int]] = {}
    for j in sorted(pilot_city_pool):
        pilot_pool_by_country.setdefault(cities[j]["country"], []).append(j)
    pilots = []
    dom_related_solutions = {d: [s for s, (_, _, rel) in info["solution"].items() if f"domain:{d}" in rel]
                             for d in codes["domain"]}
    counters = {c: 0 for c in range(1, n_cohorts + 1)}
    for i in range(n_pilots):
        cohort = 1 + i % n_cohorts
        counters[cohort] += 1
        pid = f"C{cohort}-{counters[cohort]:04d}"
        lead = pilot_city_pool[i % len(pilot_city_pool)]
        cc = cities[lead]["country"]
        members = [lead]
        if rng.random() < 0.2:
            pool = [j for j in pilot_pool_by_country[cc] if j != lead]
            members += rng.sample(pool, min(len(pool), rng.randint(1, 4)))
        pilot_cities_used.update(members)
        dom = rng.choice(codes["domain"])
        sols = dom_related_solutions[dom] or codes["solution"]
        solutions = _pick(rng, sols, rng.choice([1, 1, 2]))
        if rng.random() < 0.3:
            solutions = sorted(set(solutions) | {rng.choice(codes["solution"])})
        related = {r for s in solutions for r in info["solution"][s][2]}
        rel_bars = sorted(r.split(":", 1)[1] for r in related if r.startswith("barrier:"))
        rel_levs = sorted(r.split(":", 1)[1] for r in related if r.startswith("lever:"))
        barriers = set(_pick(rng, rel_bars, rng.randint(1, 2))) | set(
            _pick(rng, codes["barrier"], rng.choice([0, 1, 1, 2])))
        levers = set(_pick(rng, rel_levs, rng.randint(1, 2))) | set(
            _pick(rng, codes["lever"], rng.choice([0, 1, 2])))
        if not barriers:
            barriers = {rng.choice(codes["barrier"])}
        if not levers:
            levers = {rng.choice(codes["lever"])}
        domains = {dom} | set(_pick(rng, codes["domain"], rng.choice([0, 0, 1])))

        def split(concepts: set[str], p_stated: float) -> tuple[str, str]:
            stated = sorted(c for c in sorted(concepts) if rng.random() < p_stated)
            inferred = sorted(concepts - set(stated))
            return ";".join(stated), ";".join(inferred)

        ds, di = split(domains, 0.8)
        ls_, li = split(levers, 0.6)
        bs, bi = split(barriers, 0.6)
        acr = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWZ") for _ in range(rng.randint(3, 6)))
        title = f"{rng.choice(TITLE_ADJ)} {DOMAIN_NOUNS[dom]} {rng.choice(TITLE_WORDS)}"
        open_to = str(cohort + 1) if cohort < n_cohorts and rng.random() < 0.15 else ""
        cap = str(rng.choice([1, 2, 2, 3])) if rng.random() < 0.3 else ""
        member_names = [cities[j]["name"] for j in members]
        summary = (f"{_join(member_names, lower=False)} "
                   f"{'work' if len(members) > 1 else 'works'} on {_lower(info['domain'][dom][0])} with "
                   f"{_join([info['solution'][s][0] for s in solutions])}.")
        pilots.append({
            "id": pid, "cohort": cohort, "title": f"{acr} – {title}", "acronym": acr,
            "cities": ";".join(cities[j]["id"] for j in members),
            "lead_city": cities[lead]["id"] if len(members) > 1 else "",
            "open_to_cohorts": open_to, "capacity": cap,
            "domains_stated": ds, "domains_inferred": di, "levers_stated": ls_, "levers_inferred": li,
            "barriers_stated": bs, "barriers_inferred": bi, "solutions": ";".join(solutions),
            "summary": summary,
            "_theme": (dom, solutions, sorted(barriers), sorted(levers), sorted(domains), members),
        })

    # ---- twins: ~5% of cities, none runs a pilot
    n_twins = max(n_cohorts * 2, n_cities // 20)
    twin_cities = [j for j in twin_pool if j not in pilot_cities_used][:n_twins]
    eligible: dict[int, list[dict]] = {c: [] for c in range(1, n_cohorts + 1)}
    for p in pilots:
        eligible[p["cohort"]].append(p)
        if p["open_to_cohorts"]:
            eligible[int(p["open_to_cohorts"])].append(p)
    twins, planted, narratives = [], [], []
    for j in twin_cities:
        city = cities[j]
        cohort = rng.randint(1, n_cohorts)
        true = rng.choice(eligible[cohort])
        dom, solutions, p_bars, p_levs, p_doms, _ = true["_theme"]
        described = rng.random() >= 0.25
        bars = levs = doms = exp = set()
        if described:
            bars = {b for b in p_bars if rng.random() < 0.7} | set(_pick(rng, codes["barrier"], rng.choice([0, 1])))
            if not bars & set(p_bars):
                bars.add(rng.choice(p_bars))
            doms = {d for d in p_doms if rng.random() < 0.6} | set(_pick(rng, codes["domain"], rng.choice([0, 0, 1])))
            levs = {v for v in p_levs if rng.random() < 0.4} | set(_pick(rng, codes["lever"], rng.choice([0, 1])))
            exp = set(_pick(rng, codes["domain"], rng.choice([0, 1, 1, 2])))
            if rng.random() < 0.3:
                exp.add(rng.choice(sorted(p_doms)))
        bs = ";".join(b for b in sorted(bars) if rng.random() < 0.7)
        bi = ";".join(sorted(bars - set(bs.split(";"))))
        interests = ""
        if described and rng.random() < 0.8:
            wanted = [_lower(info["domain"][d][0]) for d in sorted(doms)] or [_lower(info["domain"][dom][0])]
            interests = (f"Learning about {_join(wanted)}"
                         + (f", in particular {_lower(info['solution'][solutions[0]][0])}" if rng.random() < 0.5 else "")
                         + ".")
        tid = f"T{cohort}-{city['id']}"
        twins.append({
            "id": tid, "city": city["id"], "cohort": cohort, "interests": interests,
            "domains_stated": ";".join(sorted(doms)), "domains_inferred": "",
            "levers_stated": ";".join(sorted(levs)), "levers_inferred": "",
            "barriers_stated": bs, "barriers_inferred": bi,
            "experience_domains": ";".join(sorted(exp)),
        })
        planted.append({"twin_city": city["name"], "twin_cohort": cohort, "pilot_id": true["id"]})
        narratives.append({"subject": tid, "lang": "en", "source": "synthetic",
                           "text": _twin_narrative(rng, info, codes, city, cohort, true["_theme"])})
    for p in pilots:
        narratives.append({"subject": p["id"], "lang": "en", "source": "synthetic",
                           "text": _pilot_narrative(rng, info, cities, p)})
    narratives.sort(key=lambda r: r["subject"])
    for p in pilots:
        del p["_theme"]
    return {"cities": cities, "pilots": pilots, "twins": twins, "narratives": narratives, "planted": planted}


def _fit(rng: random.Random, sentences: list[str], lo: int = 60, hi: int = 100) -> str:
    """Sentences (the first fixed, the rest shuffled) plus fillers until ``lo``-``hi`` words."""
    head, rest = sentences[0], sentences[1:]
    rng.shuffle(rest)
    out = [head, *rest]
    fillers = rng.sample(FILLERS, len(FILLERS))
    target = rng.randint(lo, hi)
    while sum(len(s.split()) for s in out) < target and fillers:
        out.insert(rng.randint(1, len(out)), fillers.pop())
    words = " ".join(out).split()
    if len(words) > hi:
        text = " ".join(words[:hi]).rstrip(",;:")
        return text if text.endswith(".") else text + "."
    return " ".join(out)


def _pilot_narrative(rng, info, cities, p) -> str:
    dom, solutions, bars, levs, doms, members = p["_theme"]
    names = [cities[j]["name"] for j in members]
    s = [rng.choice(PILOT_OPENERS).format(acr=p["acronym"], cohort=p["cohort"], cities=_join(names, lower=False),
                                          country=cities[members[0]]["country"],
                                          dom=_lower(info["domain"][dom][0]))]
    for sol in solutions:
        label, definition, _ = info["solution"][sol]
        s.append(rng.choice(SOLUTION_SENTENCES).format(sol=_lower(label), sdef=definition))
    for b in rng.sample(bars, min(2, len(bars))):
        label, definition, _ = info["barrier"][b]
        s.append(rng.choice(BARRIER_SENTENCES).format(bar=_lower(label), bdef=definition))
    s.append(rng.choice(LEVER_SENTENCES).format(levs=_join([info["lever"][v][0] for v in levs])))
    if rng.random() < 0.5:
        s.append(rng.choice(DOMAIN_SENTENCES).format(dom=_lower(info["domain"][dom][0]),
                                                     ddef=info["domain"][dom][1]))
    return _fit(rng, s)


def _twin_narrative(rng, info, codes, city, cohort, theme) -> str:
    """A twin's narrative: overlaps its true pilot's theme (domain, a solution, a barrier) with
    other wording, plus one unrelated ("noise") concept."""
    dom, solutions, bars, levs, doms, _ = theme
    s = [rng.choice(TWIN_OPENERS).format(city=city["name"], country=city["country"],
                                         pop=f"{round(city['population'], -3):,}", cohort=cohort)]
    if rng.random() < 0.8:
        s.append(rng.choice(DOMAIN_SENTENCES).format(dom=_lower(info["domain"][dom][0]),
                                                     ddef=info["domain"][dom][1]))
    if rng.random() < 0.7:
        s.append(rng.choice(TWIN_SOLUTION_SENTENCES).format(sol=_lower(info["solution"][rng.choice(solutions)][0])))
    own_bars = [b for b in bars if rng.random() < 0.6] or [rng.choice(bars)]
    noise = rng.choice(codes["barrier"])
    for b in sorted(set(own_bars[:2]) | {noise}):
        label, definition, _ = info["barrier"][b]
        s.append(rng.choice(TWIN_BARRIER_SENTENCES).format(bar=_lower(label), bdef=definition))
    if levs and rng.random() < 0.5:
        s.append(rng.choice(TWIN_LEVER_SENTENCES).format(levs=_join([info["lever"][rng.choice(levs)][0]])))
    if rng.random() < 0.4:
        other = rng.choice(codes["domain"])
        s.append(f"Another concern is {_lower(info['domain'][other][0])}.")
    return _fit(rng, s)


def write(tables: dict[str, list[dict]], out: str | Path) -> list[Path]:
    """Write the tables (and ``planted.csv``) as UTF-8 CSV into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("cities", "pilots", "twins", "narratives", "planted"):
        header = (["twin_city", "twin_cohort", "pilot_id"] if name == "planted"
                  else [c for c in COLUMNS[name] if any(c in r for r in tables[name][:1])])
        path = out / f"{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            w.writeheader()
            for r in tables[name]:
                w.writerow({k: r.get(k, "") for k in header})
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cities", type=int, default=1000, help="number of cities (1000, 10000, 100000, ...)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cohorts", type=int, default=None, help="default: 3 at 1k, 5 at 10k, 7 at 100k")
    ap.add_argument("--out", required=True, help="output folder")
    a = ap.parse_args(argv)
    if a.cities < 40:
        ap.error("--cities must be at least 40")
    tables = generate(a.cities, a.seed, cohorts=a.cohorts)
    write(tables, a.out)
    print(f"{a.out}: {len(tables['cities'])} cities, {len(tables['pilots'])} pilot activities, "
          f"{len(tables['twins'])} twins, {len(tables['narratives'])} narratives, "
          f"{len(tables['planted'])} planted pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
