"""Across Europe: every Covenant of Mayors signatory as a possible twin or peer.

``profiles`` (signatory and pilot matrices over one concept space, through the GCoM mapping of
``kg.ingest.gcom.derive``), ``rank`` (recruit twins for a pilot, pilots for a signatory, peers
for a signatory, with evidence both ways), ``names`` (finding a signatory by id or name),
``evaluate`` (where the real twins of known pairings rank).
"""

from recommender.europe.names import find_signatory
from recommender.europe.profiles import Profiles, build_profiles
from recommender.europe.rank import Filters, Ranked, peers, pilots_for, recruit, recruit_scores

__all__ = ["Filters", "Profiles", "Ranked", "build_profiles", "find_signatory", "peers", "pilots_for",
           "recruit", "recruit_scores"]
