"""The batch files of `peerlearn run` and the facilitator pages of `peerlearn serve` format the
same run result with the same row builders: the same pair gives the same CSV bytes.

Real processes: `peerlearn run` on the mini dataset (real model), then `peerlearn serve` on the
store it built, real HTTP."""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import MINI, LiveServer, run_cli


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    work = tmp_path_factory.mktemp("agree")
    res = run_cli("run", str(MINI), "--out", "out", cwd=work)
    assert res.returncode == 0, res.stderr
    exe = Path(sys.executable).with_name("peerlearn")
    server = LiveServer([str(exe), "serve", "--port", "0"], cwd=work,
                        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = httpx.get(server.url + "/healthz", timeout=10).json().get("recommender", {}).get("state")
            if state in ("ready", "failed"):
                break
            time.sleep(0.3)
        assert state == "ready", "\n".join(server.lines)
        yield work / "out", server
    finally:
        server.stop()


def _get(server, path: str, **params) -> str:
    r = httpx.get(server.url + path, params=params, timeout=60)
    assert r.status_code == 200, (path, r.text)
    return r.text


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_cohort_tables_are_the_same_bytes(published):
    out, server = published
    for table in ("assignment", "loads", "explanations"):
        batch = (out / f"{table}-cohort-1.csv").read_text(encoding="utf-8")
        web = _get(server, "/facilitator/cohort/1", format="csv", table=table)
        assert web == batch, table


def test_a_pairs_topics_are_the_same_bytes(published):
    out, server = published
    batch = _lines((out / "topics-cohort-1.csv").read_text(encoding="utf-8"))
    header, rows = batch[0], batch[1:]
    pairs = {tuple(r[:2]) for r in csv.reader(io.StringIO("".join(rows)))}
    assert len(pairs) == 3
    for twin, pilot in sorted(pairs):
        web = _get(server, f"/facilitator/pair/{pilot}/{twin}", format="csv")
        mine = [line for line, r in zip(rows, csv.reader(io.StringIO("".join(rows))), strict=True)
                if (r[0], r[1]) == (twin, pilot)]
        assert web == header + "".join(mine), (twin, pilot)


def test_a_twins_shortlist_is_the_head_of_its_web_ranking(published):
    out, server = published
    batch = _lines((out / "shortlists-cohort-1.csv").read_text(encoding="utf-8"))
    header, rows = batch[0], batch[1:]
    for twin in ("T1-westford", "T1-riverton", "T1-northam"):
        web = _lines(_get(server, f"/facilitator/twin/{twin}", format="csv"))
        mine = [line for line in rows if line.startswith(twin + ",")]
        assert mine and web[0] == header and web[1:len(mine) + 1] == mine, twin
