"""The facilitator pages in a real headless Chromium against a real server (``kg.endpoint.serve``
with the facilitator routes, in its own process on a free loopback port), driven over the
DevTools protocol: a pair page shows its learning topics, and submitting the what-if form with
a real click re-ranks a twin's pilot activities. No request leaves the server, no console error.
Screenshots go to test-artifacts/screenshots/web/.

Skipped when Chromium or the `websockets` package is missing, unless PEERLEARN_REQUIRE_BROWSER=1
(then those fail).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer
from tests.kg.test_endpoint_browser import CDP, _problems, _requests, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini"
SHOTS = ROOT / "test-artifacts" / "screenshots" / "web"
WHATIF = {"barrier_fit": 0, "domain_fit": 0, "lever_fit": 0, "solution_fit": 0, "shared_challenge": 0,
          "experience_fit": 1, "narrative_similarity": 0, "graph_proximity": 0, "context": 0}

_SERVER = """
import sys
from kg import catalog
from kg.endpoint import EndpointConfig, serve
from kg.store import open_store
from recommender.matcher import Matcher
from recommender.settings import Settings
from recommender.web import facilitator_routes

store = open_store("oxigraph", path=sys.argv[1], read_only=True)
matcher = Matcher.from_catalog(catalog(store), Settings(), encoder=False)
store.close()
serve(sys.argv[1], EndpointConfig(port=0, workers=1),
      extra_routes=facilitator_routes(lambda: matcher, store_path=sys.argv[1]))
"""


class Server(LiveServer):
    """The endpoint with the facilitator pages in a subprocess; ``url`` once it listens."""

    def __init__(self, store_path: Path):
        super().__init__([sys.executable, "-c", _SERVER, str(store_path)], cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)



@pytest.fixture(scope="module")
def matcher_and_store(tmp_path_factory):
    from kg import build, catalog
    from recommender.matcher import Matcher
    from recommender.settings import Settings

    path = tmp_path_factory.mktemp("webbrowser") / "store"
    store = build([MINI], backend="oxigraph", path=path)
    try:
        matcher = Matcher.from_catalog(catalog(store), Settings(), encoder=False)
    finally:
        store.close()
    return matcher, path


@pytest.fixture(scope="module")
def live(matcher_and_store):
    s = Server(matcher_and_store[1])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def page(live):
    with chromium_page("1280,1000") as cdp:
        yield cdp


def _open(page: CDP, url: str) -> None:
    page.call("Page.navigate", url=url)
    page.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")


def _ranking(page: CDP, table: str) -> list[str]:
    return page.eval(f"[...document.querySelectorAll('#{table} tbody tr')].map(r => r.dataset.pilot)")


def _stayed_home(page: CDP, live: Server) -> None:
    page.call("Runtime.evaluate", expression="1")  # flush pending events
    outside = [u for u in _requests(page) if not u.startswith(live.url + "/") and not u.startswith("data:")]
    assert outside == [], f"requests to other sites: {outside}"
    assert _problems(page) == []


def test_pair_page_shows_its_topics(live, page, matcher_and_store):
    matcher, _ = matcher_and_store
    _open(page, live.url + "/facilitator/pair/HRH/Westford")
    titles = page.eval("[...document.querySelectorAll('.topic-title')].map(e => e.textContent)")
    topics = matcher.topics("T1-westford", "P1")
    assert titles and sorted(titles) == sorted(t.title for t in topics)
    body = page.eval("document.body.innerText")
    for t in topics:
        assert t.evidence.words in body
    for module in ("Getting started", "Co-creating", "Capitalising"):
        assert module in body
    assert "Replication Plan outline" in body
    # the stylesheet (from this server) applied: module blocks have their coloured border
    border = page.eval("getComputedStyle(document.querySelector('.module-co-creating')).borderLeftWidth")
    assert border == "5px"
    page.screenshot(SHOTS / "pair-P1-T1-westford.png")
    _stayed_home(page, live)


def test_whatif_form_reranks_after_a_click(live, page, matcher_and_store):
    matcher, _ = matcher_and_store
    start = live.url + "/facilitator/whatif?twin=T1-riverton"
    _open(page, start)
    default = [s.pilot for s in matcher.rank_pilots("T1-riverton")]
    expected = [s.pilot for s in matcher.rank_pilots("T1-riverton", weights=WHATIF)]
    assert expected != default
    assert _ranking(page, "whatif-ranking") == default == _ranking(page, "default-ranking")
    page.screenshot(SHOTS / "whatif-1-defaults.png")

    page.eval(f"""(() => {{ for (const [k, v] of Object.entries({json.dumps(WHATIF)})) {{
        document.getElementById('w-' + k).value = String(v); }} return 1; }})()""")
    page.click("#rerank")
    page.wait_for("location.search.includes('experience_fit=1') && document.readyState === 'complete'"
                  " && !!document.querySelector('#whatif-ranking')")
    assert _ranking(page, "whatif-ranking") == expected
    assert _ranking(page, "default-ranking") == default
    changes = page.eval("[...document.querySelectorAll('#whatif-ranking tbody td.change')].map(e => e.textContent)")
    assert any(c.startswith("▲") for c in changes) and any(c.startswith("▼") for c in changes)
    assert page.eval("document.getElementById('twin').value") == "T1-riverton"
    assert page.eval("document.getElementById('w-experience_fit').value") in ("1", "1.0")
    page.screenshot(SHOTS / "whatif-2-reranked.png")
    _stayed_home(page, live)


def test_twin_and_cohort_pages_render(live, page):
    _open(page, live.url + "/facilitator/twin/Westford")
    assert _ranking(page, "ranking")[0] == "P1"
    page.screenshot(SHOTS / "twin-T1-westford.png")
    _open(page, live.url + "/facilitator/cohort/1")
    assert page.eval("document.querySelectorAll('#assignment tbody tr').length") == 3
    page.screenshot(SHOTS / "cohort-1.png")
    _stayed_home(page, live)


def test_twin_profile_and_pilot_page(live, page, matcher_and_store):
    """The twin page's "its profile" link scrolls to the profile table (every link with its
    source, styled by this server's stylesheet); a pilot activity's name on the index opens its
    page with its profile."""
    cat = matcher_and_store[0].catalog
    rows = "[...document.querySelectorAll('#profile-links tbody tr')].map(r => [r.querySelector('td.name').textContent, r.dataset.source])"

    def expected(item, fields):
        return sorted([cat.concepts[x.concept].label, x.source] for f in fields for x in getattr(item, f))

    _open(page, live.url + "/facilitator/twin/Westford")
    page.click("a[href='#profile']")
    page.wait_for("location.hash === '#profile'")
    assert sorted(page.eval(rows)) == expected(cat.twins["T1-westford"], ("domains", "levers", "barriers", "experience"))
    assert page.eval("document.getElementById('profile').getBoundingClientRect().top < window.innerHeight")
    assert page.eval("getComputedStyle(document.querySelector('#profile-links .src-stated')).backgroundColor") \
        == "rgb(220, 235, 247)"
    page.screenshot(SHOTS / "twin-T1-westford-profile.png")
    _open(page, live.url + "/facilitator")
    page.click("tr[data-pilot='P2'] td.name a")
    page.wait_for("location.pathname === '/facilitator/pilot/P2' && document.readyState === 'complete'")
    assert page.eval("document.querySelector('h1').textContent") == "SUN"
    assert sorted(page.eval(rows)) == expected(cat.pilots["P2"], ("domains", "levers", "barriers", "solutions"))
    assert page.eval("document.querySelectorAll('#profile-facts tbody tr').length") > 0
    page.screenshot(SHOTS / "pilot-P2.png")
    _stayed_home(page, live)
