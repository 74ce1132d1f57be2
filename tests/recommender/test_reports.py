"""HTML reports on the mini dataset, without the embedding model: content, links, determinism."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kg import build, catalog
from recommender.matcher import Matcher
from recommender.reports import MODULE_MONTHS, learning_journey, render_reports, slug
from recommender.result import run_result
from recommender.settings import Settings
from recommender.tables import cohort_tables
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT
from recommender.words import COUNTRY_NAMES

MINI = Path(__file__).parents[2] / "tests" / "fixtures" / "mini"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Text, links and tag balance of one page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.sources: list[str] = []     # <a href="https://..."> to a published source: followed, never loaded
        self.chunks: list[str] = []
        self.ids: list[str] = []
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")
        self.text = re.sub(r"\s+", " ", " ".join(self.chunks))

    def handle_starttag(self, tag, attrs):
        self._attrs(attrs, tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._attrs(attrs, tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.chunks.append(data)

    def _attrs(self, attrs, tag):
        for k, v in attrs:
            if tag == "a" and k == "href" and v is not None and re.match(r"^https?://[^/]", v):
                self.sources.append(v)
            elif k in ("href", "src") and v is not None:
                self.urls.append(v)
            if k == "id":
                self.ids.append(v)


@pytest.fixture(scope="module")
def store():
    return build([MINI], backend="oxigraph")


@pytest.fixture(scope="module")
def matcher(store):
    return Matcher.from_catalog(catalog(store), Settings(), encoder=False)


@pytest.fixture(scope="module")
def result(matcher):
    return run_result(matcher, Settings(), cohorts=[1])


@pytest.fixture(scope="module")
def assignments(result):
    return result.assignments()


@pytest.fixture(scope="module")
def files(result):
    return render_reports(result)


@pytest.fixture(scope="module")
def pages(files):
    return {name: Page(html) for name, html in files.items()}


def test_one_page_per_cohort_twin_and_pilot_and_a_brief_per_assigned_pair(files, matcher, assignments):
    twins = {f"twins/{slug(t.id)}.html" for t in matcher.cohort_twins(1)}
    pilots = {f"pilots/{slug(p)}.html" for p in assignments[1].capacities}
    briefs = {f"pairs/{slug(p.twin)}--{slug(p.pilot)}.html" for p in assignments[1].pairs}
    assert len(briefs) == len(assignments[1].pairs)
    assert set(files) == {"cohort-1.html"} | twins | pilots | briefs
    assert all(isinstance(v, str) and v.startswith("<!DOCTYPE html>") for v in files.values())


def test_pages_parse_and_are_self_contained(files, pages):
    for name, page in pages.items():
        assert page.errors == [], name
        html = files[name]
        assert "<script" not in html.lower(), name
        assert "@import" not in html and "url(" not in html, name
        for url in page.urls:
            assert not re.match(r"^(https?:)?//", url), (name, url)
            assert not url.startswith(("data:", "javascript:")), (name, url)


def test_relative_links_resolve(files, pages):
    for name, page in pages.items():
        for url in page.urls:
            target, _, anchor = url.partition("#")
            if not target:
                assert anchor in page.ids, (name, url)
                continue
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            assert path in files, (name, url)


def test_cohort_page_has_every_pair_with_the_table_scores(files, pages, result, assignments):
    a = assignments[1]
    rows = cohort_tables(result, result.cohort(1))["assignment"]
    assert len(rows) == len(a.pairs) == 3
    html = files["cohort-1.html"]
    for r in rows:
        m = re.search(rf'<tr id="pair-{re.escape(slug(r["twin_id"]))}-{re.escape(slug(r["pilot_id"]))}">(.*?)</tr>',
                      html, re.S)
        assert m, r
        row = Page(m.group(1)).text
        assert r["twin"] in row and r["pilot"] in row and r["pilot_id"] in row
        for key in ("score", "twin_score", "pilot_score"):
            assert f"{r[key]:.2f}" in row, (key, r)
        assert f'href="twins/{slug(r["twin_id"])}.html"' in m.group(1)
        assert f'href="pilots/{slug(r["pilot_id"])}.html"' in m.group(1)
    text = pages["cohort-1.html"].text
    for section in ("Pilot loads against capacity", "Emission domains and barriers", "Signals behind each score",
                    "Network", "Notes on the assignment"):
        assert section in text
    for note in a.notes:
        assert note in text
    assert html.count('<td class="cell both"') == 5      # Riverton-SUN 2 shared, Westford-HRH 3
    assert html.count("<svg") >= 3 + len(a.capacities) + 1


def test_twin_pages_have_every_topic_with_its_evidence(pages, matcher, assignments):
    for p in assignments[1].pairs:
        text = pages[f"twins/{slug(p.twin)}.html"].text
        topics = matcher.topics(p.twin, p.pilot)
        assert topics
        for t in topics:
            assert t.title in text
            assert t.evidence.words in text
            for q in t.questions:
                assert q in text
        plan = matcher.plan(p.twin, p.pilot)
        for _module, what, whom, evidence in plan.items if plan else ():
            assert what in text and whom in text and evidence in text
        if plan is None:
            assert "No Replication Plan items yet" in text
        for s in matcher.rank_pilots(p.twin, limit=Settings().matching.shortlist):
            assert f"{s.score:.2f}" in text
            for e in s.evidence[:5]:
                assert e.words in text
        for heading in ("Getting started", "Co-creating", "Capitalising", "pilot → twin", "twin → pilot",
                        "Learning journey", "Replication Plan outline", "Month 1"):
            assert heading in text


def test_pair_brief_has_who_why_topics_with_quotes_and_agenda(pages, matcher, assignments):
    cat = matcher.catalog
    for p in assignments[1].pairs:
        page = pages[f"pairs/{slug(p.twin)}--{slug(p.pilot)}.html"]
        text = page.text
        pilot = cat.pilots[p.pilot]
        for cid in pilot.cities:                     # the pilot's cities and their countries
            assert cat.cities[cid].name in text and COUNTRY_NAMES[cat.cities[cid].country] in text
        assert all(s in page.sources for s in pilot.sources if s.startswith("https://"))
        for heading in ("The twin city", "The pilot activity", "Why this pair", "Topics by module",
                        "First session: agenda"):
            assert heading in text
        for t in matcher.topics(p.twin, p.pilot):
            assert t.title in text and t.questions[0] in text
            assert t.quotes and t.quotes[0].cite in text


def test_twin_without_data_says_so(pages, matcher):
    twin = matcher.catalog.twins["T1-northam"]
    assert not (twin.interests or twin.domains or twin.barriers or twin.levers or twin.narrative)
    assert "No data yet" in pages["twins/T1-northam.html"].text
    assert "No data yet" not in pages["twins/T1-westford.html"].text


def test_pilot_pages_list_received_twins_and_what_the_pilot_learns(pages, matcher, assignments):
    for p in assignments[1].pairs:
        text = pages[f"pilots/{slug(p.pilot)}.html"].text
        assert matcher.catalog.twin_name(p.twin) in text
        mine = [t for t in matcher.topics(p.twin, p.pilot) if t.direction == PILOT_FROM_TWIN]
        assert mine
        for t in mine:
            assert t.title in text and t.evidence.words in text
        for t in matcher.topics(p.twin, p.pilot):
            if t.direction == TWIN_FROM_PILOT and t.title not in {x.title for x in mine}:
                assert t.title not in text


def test_same_inputs_give_identical_bytes(files, store, assignments):
    again = render_reports(run_result(Matcher.from_catalog(catalog(store), Settings(), encoder=False), Settings(),
                                      cohorts=[1]))
    assert again == files


def test_learning_journey_follows_the_programme(matcher, assignments):
    for p in assignments[1].pairs:
        topics = matcher.topics(p.twin, p.pilot)
        sessions = learning_journey(topics)
        months = [s["month"] for s in sessions]
        assert months == sorted(months) and months[0] == 1 and months[-1] <= 20
        for s in sessions:
            lo, hi = MODULE_MONTHS[s["module"]]
            assert lo <= s["month"] <= hi
            assert s["topics"], "no session without a topic of its own"
        for s in sessions:       # the format follows the topic
            kinds = {t.evidence.kind for t in topics if t.title in {x["title"] for x in s["topics"]}}
            if s["format"] == "peer review":
                assert kinds == {"replication"}
            if s["format"] == "visit from the pilot":
                assert kinds == {"transfer"}
        placed = [(t["title"], t["brings"]) for s in sessions for t in s["topics"]]
        assert sorted(placed) == sorted((t.title, "pilot" if t.direction == TWIN_FROM_PILOT else "twin")
                                        for t in topics)
        assert learning_journey(topics) == sessions
    assert MODULE_MONTHS["capitalising"][1] == 20


def test_long_and_hostile_names_are_escaped_and_wrap(store, assignments):
    cat = catalog(store)
    long_name = "Very Long Municipality Name <script>alert(1)</script> & Surroundings " * 3
    cities = {**cat.cities, "westford": replace(cat.cities["westford"], name=long_name)}
    m = Matcher.from_catalog(replace(cat, cities=cities), Settings(), encoder=False)
    files = render_reports(run_result(m, Settings(), cohorts=[1]))
    for name, html in files.items():
        assert "<script" not in html, name
        assert Page(html).errors == [], name
    assert "Very Long Municipality Name &lt;script&gt;" in files["twins/T1-westford.html"]
    assert "overflow-wrap" in files["cohort-1.html"]


def test_pins_exclusions_and_unassigned_twins_are_reported(matcher):
    from recommender.assignment import Overrides

    over = Overrides(pins=(("T1-westford", "P2"),), exclusions=(("T1-northam", "P2"), ("T1-northam", "P3")))
    result = run_result(matcher, Settings(), cohorts=[1], overrides={1: over})
    a = result.cohort(1).assignment
    assert a.unassigned == ("T1-northam",)
    files = render_reports(result)
    text = Page(files["cohort-1.html"]).text
    assert "Unassigned:" in text and "left unassigned: Northam" in text
    assert "pinned" in text
    assert "pin T1-westford->P2 costs" in text
    assert "exclusion T1-northam-/->P2" in text and "exclusion T1-northam-/->P3" in text
    twin = Page(files["twins/T1-northam.html"]).text
    assert "is not assigned to a pilot activity" in twin and "(suggested)" in twin
    assert "Westford" in Page(files["pilots/P2.html"]).text
    assert "No twin is assigned" in Page(files["pilots/P1.html"]).text


def test_write_outputs_writes_the_report_pages(result, tmp_path):
    from recommender.outputs import write_outputs

    paths = write_outputs(result, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in paths}
    assert {"cohort-1.html", "twins/T1-westford.html", "pilots/P1.html"} <= names
    assert (tmp_path / "out" / "twins" / "T1-westford.html").read_text(encoding="utf-8").startswith("<!DOCTYPE")
