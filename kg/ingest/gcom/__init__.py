"""Global Covenant of Mayors (GCoM – MyCovenant, JRC, CC BY 4.0) reader, one concern a module:
values (lenient cells, counted), files (xlsx and text tables as published), release (the
joins), match (signatories to the dataset's cities)."""

from kg.ingest.gcom.match import CityMatch, MatchReport, match_cities
from kg.ingest.gcom.release import (
    ATTRIBUTION,
    LICENSE,
    SOURCE,
    Action,
    InventoryLine,
    Release,
    Signatory,
    Target,
    read_release,
)
from kg.ingest.gcom.values import Tally

__all__ = ["ATTRIBUTION", "LICENSE", "SOURCE", "Action", "CityMatch", "InventoryLine", "MatchReport", "Release",
           "Signatory", "Target", "Tally", "match_cities", "read_release"]
