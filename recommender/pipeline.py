"""The one place that wires the steps: sources -> KG -> profiles -> scores -> assignment ->
topics -> outputs. The CLI, the web pages and the reports all call it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def run_main_job(settings, *, out_dir: Path, sources: list[str], ccc: str | None = None,
                 say: Callable[[str], None] = print) -> int:
    """Build the knowledge graph from ``sources`` and report what it holds."""
    from kg.build import build
    from kg.catalog import summary

    st = settings.store
    store = build(sources, backend=st.backend, path=st.path if st.backend == "oxigraph" else None,
                  endpoint=st.endpoint or None, update_endpoint=st.update_endpoint or None)
    s = summary(store)
    say(f"knowledge graph: {s['cities']} cities ({s['missionCities']} Mission Cities), "
        f"{s['pilots']} pilot activities, {s['twins']} twins, {s['triples']} triples")
    store.close()
    return 0
