"""The one place that runs the stages in order: sources -> KG -> narratives -> tags ->
profiles and scores (``Matcher``) -> the run's result, every cohort scored once
(``recommender/result.py``: assignment, shortlists, topics, explanations) -> RDF write-back ->
evaluation -> output files (formatters of the result), reporting each stage through ``say``. The CLI calls it; it holds no matching
logic itself (``recommender/matcher.py`` and the modules it calls do).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from kg.build import build
from kg.catalog import summary
from recommender.evaluate import evaluate, format_table, read_pairings
from recommender.export import write_run
from recommender.feedback import declined_pairs
from recommender.matcher import Matcher
from recommender.narratives import ingest_read, read_ccc_dir, tag_store
from recommender.outputs import write_outputs
from recommender.profiles import make_encoder
from recommender.result import run_result, with_evaluation


def run_main_job(settings, *, out_dir: Path, sources: list[str], ccc: str | None = None, strict: bool = False,
                 pairings: str | None = None, include_declined: bool = False,
                 say: Callable[[str], None] = print) -> int:
    """Build the KG, tag, score every cohort, assign, make topics, write RDF back and reports;
    with ``pairings``, evaluate against them (read only after scoring is set up)."""
    st = settings.store
    # contracts are read before the build, so that a --strict failure leaves the store as it was
    contracts = read_ccc_dir(ccc or settings.data.ccc_dir, strict=strict) if ccc is not None else None
    store = build(sources, backend=st.backend, path=st.path if st.backend == "oxigraph" else None,
                  endpoint=st.endpoint or None, update_endpoint=st.update_endpoint or None)
    s = summary(store)
    say(f"knowledge graph: {s['cities']} cities ({s['missionCities']} Mission Cities), "
        f"{s['pilots']} pilot activities, {s['twins']} twins, {s['triples']} triples")
    inputs = list(sources)
    if contracts is not None:
        inputs.append(ccc or settings.data.ccc_dir)
        batch = ingest_read(store, contracts, strict=strict,
                            say=lambda s: say(s) if s.startswith("skipped ") else None)
        say(batch.summary())
    encoder = make_encoder(settings)
    tag_store(store, encoder, threshold=settings.matching.tag_threshold, say=say)
    matcher = Matcher.from_store(store, settings, encoder=encoder, say=say)
    if not include_declined:                      # facilitators' "no" (a rebuild keeps them)
        matcher.declined = declined_pairs(store, matcher.catalog)
    cohorts = sorted({t.cohort for t in matcher.catalog.twins.values()})
    result = run_result(matcher, settings, cohorts=cohorts)   # every cohort scored once, here
    for c in result.cohorts:
        a = c.assignment
        weak = sum(1 for e in c.explanations if e.weak)
        below = sum(1 for e in c.explanations if e.rank != 1)
        say(f"cohort {c.cohort}: {len(a.pairs)} twins assigned to {sum(1 for v in a.loads.values() if v)} "
            f"pilot activities, objective {a.objective:.3f} (optimal), unassigned {len(a.unassigned)}; "
            f"{below} not at their first choice, {weak} weak (score below {result.weak_threshold})")
    write_run(store, result, inputs=inputs, model=encoder.model_id)
    if pairings:
        pairs, skipped = read_pairings(pairings, matcher.catalog)
        rows = evaluate(matcher, pairs)
        say(f"evaluation on {len(pairs)} known pairings ({len(skipped)} skipped):\n{format_table(rows[:2])}")
        evaluation = {}
        for cohort in cohorts:
            mine = [p for p in pairs if matcher.catalog.twins[p.twin].cohort == cohort]
            if mine:
                evaluation[cohort] = {"pairs": len(mine), "rows": evaluate(matcher, mine), "skipped": skipped}
        result = with_evaluation(result, evaluation)
    paths = write_outputs(result, Path(out_dir))
    store.close()
    say(f"outputs: {len(paths)} files in {out_dir}/")
    say(json.dumps({"summary": {k: v for k, v in s.items() if k != 'by_cohort'}}, sort_keys=True))
    return 0
