"""What every command shares: the command registry, printing, settings, and opening the store
or the matcher the settings point at."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from kg.errors import ConfigError, InputError, StoreError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def out(text: str = "") -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


# ------------------------------------------------------------------------ helpers

def _settings(args):
    from recommender.settings import load_settings

    s = load_settings(args.config)
    return s.with_overrides(args.set or [])


def _sources(settings, given: list[str] | None) -> list[str]:
    from kg.build import bundled_dataset

    if given:
        return given
    if settings.data.sources:
        return list(settings.data.sources)
    return [str(bundled_dataset())]


def open_configured_store(settings, *, read_only: bool = True):
    """The store the settings point at. The rdflib backend lives in memory, so it is built
    from the configured sources on every command."""
    from kg.build import build
    from kg.store import open_store

    st = settings.store
    if st.backend == "oxigraph":
        path = Path(st.path)
        _require_store(path)
        return open_store("oxigraph", path=path, read_only=read_only)
    if st.backend == "rdflib":
        return build(_sources(settings, None), backend="rdflib")
    return open_store("remote", endpoint=st.endpoint, update_endpoint=st.update_endpoint or None)


def _require_store(path) -> None:
    if not Path(path).exists():
        raise StoreError(f"{path}: no knowledge graph yet; run `peerlearn build` first")


def _matcher(args, settings=None):
    from recommender.matcher import Matcher

    settings = settings or _settings(args)
    store = open_configured_store(settings)
    try:
        m = Matcher.from_store(store, settings, encoder=False if getattr(args, "no_model", False) else None)
        if getattr(args, "include_declined", None) is False:   # commands that propose pairs
            from recommender.feedback import declined_pairs

            m.declined = declined_pairs(store, m.catalog)
        return m
    finally:
        store.close()


def _weights(args, matcher):
    """The matcher's weights with each ``--weight SIGNAL=W`` applied (checked as settings are)."""
    from recommender.weights import WeightError, Weights

    changes = {}
    for pair in getattr(args, "weight", None) or []:
        if "=" not in pair:
            raise InputError(f"--weight {pair!r}: expected signal=value")
        k, v = pair.split("=", 1)
        changes[k.strip()] = v
    try:
        return Weights(matcher.weights).with_values(changes)
    except WeightError as e:
        raise InputError(f"--weight: {e}") from None


def _writable_store(settings):
    """The configured store opened for writing (commands that add to the knowledge graph)."""
    from kg.store import open_store

    st = settings.store
    if st.backend == "oxigraph":
        _require_store(st.path)
        return open_store("oxigraph", path=st.path)
    if st.backend == "remote":
        return open_store("remote", endpoint=st.endpoint, update_endpoint=st.update_endpoint or None)
    raise ConfigError("the rdflib backend lives in memory for one command: use `peerlearn run --ccc` "
                      "or the oxigraph backend to keep ingested contracts and tags")
