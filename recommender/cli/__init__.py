"""The ``peerlearn`` command. The only module that prints or exits.

``main(argv) -> int`` has the one error boundary: a ``PeerlearnError`` becomes a one-line
message on stderr and its exit code; anything else is a bug and keeps its traceback.
Heavy libraries (torch, sentence-transformers, faiss) are imported by the commands that need
them, so ``peerlearn --help`` and SPARQL commands start at once.

Modules: ``common`` (registry, printing, store and matcher from settings), ``graph`` (build,
validate, query, settings, run), ``matching`` (recommend, assign, topics, evaluate), ``corpus``
(ingest-ccc, tag, index, search), ``publish`` (report, serve), ``parser`` (the grammar).
"""

from __future__ import annotations

import os
import sys

from kg.errors import PeerlearnError
from recommender.cli.common import COMMANDS, err
from recommender.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        return COMMANDS[args.command](args)
    except PeerlearnError as e:
        from kg.redact import scrub

        err(scrub(f"peerlearn {args.command}: error: {e}"))
        return e.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
