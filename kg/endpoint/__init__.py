"""A SPARQL 1.1 Protocol endpoint over the knowledge graph, safe by default (``peerlearn serve``).

Routes
- ``/sparql``: queries by GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST
  ``application/sparql-query``; ``default-graph-uri`` / ``named-graph-uri`` honoured (without them
  the default graph is the union of all graphs, as in ``kg.store``, unless the query says
  ``FROM``). Results by content negotiation: SELECT/ASK as SPARQL JSON (default), XML, CSV, TSV;
  CONSTRUCT/DESCRIBE as Turtle (default), N-Triples, RDF/XML, JSON-LD; 406 when the Accept
  header names none of these (one that names only the other form's formats, as rdflib's
  SPARQLStore does for a CONSTRUCT, gets the form's default: RFC 9110 allows it). A bare
  GET is answered with a SPARQL 1.1 Service Description. SPARQL Update is refused (403) unless
  ``allow_update`` is set and the request carries ``Authorization: Bearer <update_token>``;
  ``using-graph-uri`` / ``using-named-graph-uri`` act as USING / USING NAMED (``add_using``),
  refused with 400 when the update says USING or WITH itself. Relative IRIs in queries and
  updates resolve against the endpoint's URL as the client named it (``http://host:port/sparql``)
  unless the text says BASE. ``default-graph-uri=urn:x-rdflib:default`` (``RDFLIB_DEFAULT_GRAPH``,
  what rdflib's ``Dataset(store=SPARQLStore(url))`` sends with every query) names the endpoint's
  default graph, the union; alone it leaves the default dataset (union and every named graph).
- ``/``: the YASGUI query UI, served from ``node_modules`` (``make assets`` = ``npm ci``), with
  every example query of ``kg.examples.EXAMPLES`` as a ready-to-run tab. A Content-Security-Policy
  lets the page talk to this server only (YASQE's LOV autocompleters, which would call an
  outside API, are switched off as well).
- ``/healthz``: JSON with the store's triple count and the workers' state.

Error statuses: 400 malformed request or query (the parser's message in the body), a
``SERVICE`` clause, or a result over ``max_results``; 403 update refused; 405 method; 406 no
acceptable format; 413 body over ``max_body_bytes``; 414 query string over it; 415 wrong media
type or charset; 429 one client's share used up (a second long query, too many waiting); 503
``query time limit of N s exceeded``, workers busy, or shutting down. Bodies of errors
are ``text/plain``. Every request is logged as one JSON line (method, path, status, duration
ms, bytes, client, and a note for refusals) through ``log``.

How queries run, and why (measured with pyoxigraph 0.5.13 on the 2-core machine)
- pyoxigraph releases the GIL while it evaluates (a ticker thread kept running through a 10 s
  query), so threads would keep the event loop free; but a thread cannot be stopped. A lazy
  iterator with a deadline check between rows bounds nothing when the first row is the last
  work: ``SELECT (COUNT(*) ...) {?a ?b ?c . ?d ?e ?f . ?g ?h ?i}`` over 300 triples spends
  its whole 10 s inside one ``next()`` call, and ORDER BY / GROUP BY do the same.
- So queries run in long-lived worker processes (``python -c ... _worker_main``) that open the
  store with ``pyoxigraph.Store.read_only`` (60 ms; they see the store as it was when opened)
  and answer over a pipe. The server waits for an answer with ``select`` and a deadline; past
  ``query_timeout`` it SIGKILLs the worker (the runaway query stops burning a core at once) and
  answers 503. A worker also gets an address-space limit (``worker_memory_mb``): a query that
  would eat the machine's memory aborts the worker instead, answered with 503 too. Workers
  ignore SIGINT/SIGTERM (a terminal or service manager signals the whole process group): the
  server stops them once running queries have finished.
- One client cannot stall the others (``WorkerPool``). ``workers`` short-lane workers (default:
  one per core, 2 to 8) take every query from a fair queue: one line per client (its remote
  address; behind a reverse proxy, the proxy), served in turn, so a burst from one client waits
  behind itself; waiting is bounded (``max_queued``, a quarter of it per client: 503 / 429;
  at most ``query_timeout`` s: 503 "busy"). A query that has used ``query_slice`` s of CPU (or
  4 slices of wall time) moves aside: its worker leaves the short lane for the long one (CPU
  niceness 19, SCHED_IDLE: it gets what the short lane leaves), and a pre-started spare (two
  are kept) takes its place at once; the long query runs on to the timeout and its worker is
  then retired. At most ``long_queries`` run at once (default: ``workers``; beyond it 503) and
  ``long_queries_per_client`` per client (default 1; beyond it 429 with Retry-After): such a
  query is stopped at its slice. CPU time rather than wall time, because on a busy machine a
  cheap query can take 0.5 s of wall time. Replacing a worker costs ~0.1 s of CPU (it imports
  ``kg.endpoint.worker`` alone, without ``kg/__init__`` or this package's ``__init__``, and only
  the first workers count the store).
- The result-size limit is enforced while rows are read from pyoxigraph's lazy iterator: the
  worker stops at ``max_results + 1`` and the request fails with a 400 that says to add a
  LIMIT (an error rather than a silent truncation, which SPARQL clients cannot see).
- An in-memory ``store=`` (tests, or a non-Oxigraph backend) is first copied into a private
  temporary on-disk store that the workers open; updates then change that copy only.
- Updates (when allowed) run in a one-shot writer process under the same deadline; then the
  query workers re-open the store to see them. They also re-open it when its directory is
  replaced or written to by another process (a ``peerlearn build`` while serving).
- Cost: a query's round trip to a worker is ~0.1 ms; ``scripts/load_endpoint.py`` measures
  throughput and latency with and without runaway queries (figures in README.md).
- Updates see pyoxigraph's real default graph, not the union that queries see (SPARQL Update
  semantics); use ``GRAPH`` / ``WITH`` / ``USING`` (or ``using-graph-uri``) in updates.

The server never fetches a URL for a client. pyoxigraph does perform HTTP for ``SERVICE`` and
``LOAD`` (measured: a listening socket received ``POST /sparql`` from ``Oxigraph/0.5.13``), so:
1. every query and update is lexed (IRIs, strings, comments, variables, prefixed names) and a
   ``SERVICE`` (or ``LOAD``) keyword refused with 400 before evaluation. Oxigraph's PEG parser
   needs no word boundary after a keyword (``SERVICEex:x {}`` is a SERVICE clause), so the
   check looks for the keyword inside code words too, and runs again on the text with
   ``\\uXXXX`` escapes decoded, as SPARQL 1.1 defines them. Words inside strings, comments,
   IRIs, variables and local names never count.
2. where the kernel allows it, each worker moves into an empty network namespace
   (``unshare(CLONE_NEWNET)``) before it opens the store, so even a query that slipped past (1)
   has no network to reach; ``/healthz`` says whether this is in force.
The server binds 127.0.0.1 unless told otherwise and, bound to loopback, answers only requests
whose Host header names the loopback (no DNS rebinding).

Modules: ``kg.sparql_text`` (the lexer behind the refusals, ``add_using``; outside this package
so that ``kg.store`` can use it without the web stack), ``config`` (``EndpointConfig``,
``EndpointError``), ``negotiate`` (formats, Accept), ``worker`` (what runs in a worker process:
frames, the job loop, serialisers), ``fairqueue`` (waiting queries, one line per client),
``pool`` (``WorkerPool``: the two lanes), ``protocol`` (the ``/sparql`` route), ``app`` (UI,
``/healthz``, the front door, ``create_app``, ``serve``).
"""

from kg.endpoint.app import create_app, mount_routes, serve
from kg.endpoint.config import EndpointConfig, EndpointError
from kg.endpoint.negotiate import GRAPH_FORMATS, SELECT_FORMATS, negotiate
from kg.endpoint.pool import QueryTimeout, WorkerPool, default_workers
from kg.endpoint.protocol import EndpointState
from kg.endpoint.worker import RDFLIB_DEFAULT_GRAPH
from kg.sparql_text import add_using, find_forbidden

__all__ = ["GRAPH_FORMATS", "RDFLIB_DEFAULT_GRAPH", "SELECT_FORMATS", "EndpointConfig", "EndpointError",
           "EndpointState", "QueryTimeout", "WorkerPool", "add_using", "create_app", "default_workers",
           "find_forbidden", "mount_routes", "negotiate", "serve"]
