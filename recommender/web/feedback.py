"""``POST /facilitator/cohort/{n}/decision``: a facilitator records a decision on a pair.

The form (``application/x-www-form-urlencoded``) has ``twin``, ``pilot``, ``decision``
(``accepted``, ``declined``, ``swapped``) and optional ``reason`` and ``instead``; names resolve
within cohort ``n`` as everywhere (``recommender.feedback.resolve``). The server is read-only
unless ``server.update_token`` is set, and then the request must carry it, as
``Authorization: Bearer <token>`` or a ``token`` form field (an HTML form cannot set headers):
otherwise 403 and nothing is written. The decision goes into the feedback graph through the
endpoint's one writer (the same path as SPARQL Update: a one-shot writer process, the query
workers re-open the store after it), with its provenance (``pl:FeedbackRecording``). A warm
matcher learns a declined pair at once (it is not proposed again). Answers: 201 with the
decision as JSON, or 303 back to the cohort page when the client asked for HTML.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from kg.errors import PeerlearnError
from recommender.feedback import FEEDBACK_GRAPH, decisions_graph, resolve

FIELDS = ("twin", "pilot", "decision", "reason", "instead", "token")


def decision_routes(matcher_factory: Callable[[], Any]) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        try:
            return await _record(request, matcher_factory)
        except _Refused as e:
            return JSONResponse({"error": e.message}, status_code=e.status)
        except PeerlearnError as e:
            return JSONResponse({"error": str(e)}, status_code=400)

    return [Route("/facilitator/cohort/{n}/decision", endpoint, methods=["POST"], name="facilitator_decision")]


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def _record(request: Request, matcher_factory) -> Response:
    state = request.app.state.endpoint
    cfg = state.config
    if not cfg.update_token:
        raise _Refused(403, "this server is read-only: recording decisions needs server.update_token")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _Refused(415, "send the decision as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > cfg.max_body_bytes:
            raise _Refused(413, f"request body over the limit of {cfg.max_body_bytes} bytes")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), max_num_fields=len(FIELDS)))
    except (UnicodeDecodeError, ValueError):
        raise _Refused(400, "the form is not valid UTF-8 form data") from None
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    token = given.strip() if scheme.lower() == "bearer" else form.get("token", "")
    if not hmac.compare_digest(token.encode(), cfg.update_token.encode()):
        raise _Refused(403, "recording a decision needs the update token "
                            "('Authorization: Bearer <token>' or a token field)")
    try:
        cohort = int(request.path_params["n"])
    except ValueError:
        raise _Refused(404, f"no cohort {request.path_params['n']!r}") from None
    decision, graph = await run_in_threadpool(_decision_graph, state.pool.path, form, cohort)
    nt = graph.serialize(format="nt")
    await run_in_threadpool(state.pool.update, f"INSERT DATA {{ GRAPH <{FEEDBACK_GRAPH}> {{\n{nt}\n}} }}",
                            cfg.query_timeout)
    _tell_matcher(matcher_factory, decision)
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(request.url_for("facilitator_cohort", n=str(cohort)), status_code=303)
    return JSONResponse({"recorded": {"twin": decision.twin, "pilot": decision.pilot, "decision": decision.decision,
                                      "reason": decision.reason, "instead": decision.instead},
                         "graph": str(FEEDBACK_GRAPH)}, status_code=201)


def _decision_graph(path, form: dict, cohort: int):
    from kg.catalog import catalog
    from kg.store import open_store

    store = open_store("oxigraph", path=path, read_only=True)
    try:
        cat = catalog(store)
    finally:
        store.close()
    d = resolve(cat, form.get("twin", ""), form.get("pilot", ""), form.get("decision", ""),
                reason=form.get("reason", ""), instead=form.get("instead", ""), cohort=cohort)
    return d, decisions_graph(cat, [d], label=f"decision posted on /facilitator/cohort/{cohort}")


def _tell_matcher(matcher_factory, d) -> None:
    """A matcher already built drops a declined pair now (and takes back one decided otherwise);
    one still warming up reads every decision from the store when it is built."""
    try:
        m = matcher_factory()
    except Exception:       # warming up or failed: nothing to update
        return
    pair = (d.twin, d.pilot)
    m.declined = m.declined | {pair} if d.decision == "declined" else m.declined - {pair}
