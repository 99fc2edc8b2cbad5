#!/usr/bin/env python3
"""Check a Turnstile pre-queue lottery from its published data. Python 3.8+, standard library only.

Usage:
    python3 verify_lottery.py lottery.json [--entrant ENTRANT_ID] [--commitment HEX]

``lottery.json`` is the download of /events/<slug>/lottery.json (or GET /api/events/<id>/lottery).
The script checks that SHA-256(seed) equals the commitment (``--commitment``: the one you saw on the
event page before the sale opened, if you kept it), recomputes the order of the entrants from the seed
and compares it with the published order; with ``--entrant`` it prints that entrant's place.

The order: entrants sorted by SHA-256(seed bytes || entrant id as ASCII), compared as lower-case hex,
ties by the entrant id; place 1 first. Exit status 0 when everything checks out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys


def commitment_of(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def draw_order(seed_hex: str, entrant_ids: list[str]) -> list[str]:
    seed = bytes.fromhex(seed_hex)
    return sorted(entrant_ids, key=lambda e: (hashlib.sha256(seed + e.encode("ascii")).hexdigest(), e))


def verify(data: dict, commitment: str | None = None) -> list[str]:
    """The problems found (an empty list: the draw checks out)."""
    problems = []
    seed = data.get("seed")
    if not seed:
        return ["The seed is not published yet: the lottery has not been drawn."]
    if commitment_of(seed) != data["commitment"]:
        problems.append("SHA-256 of the published seed does not match the published commitment.")
    if commitment is not None and commitment.lower() != data["commitment"]:
        problems.append("The published commitment is not the one you gave (--commitment).")
    entrants = data["entrants"]
    if len(set(entrants)) != len(entrants):
        problems.append("The entrants' list has duplicates.")
    if sorted(data["order"]) != sorted(entrants):
        problems.append("The published order does not contain exactly the published entrants.")
    if draw_order(seed, entrants) != data["order"]:
        problems.append("The published order is not the one the seed gives.")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="the lottery's published JSON")
    parser.add_argument("--entrant", help="an entrant id whose place to print")
    parser.add_argument("--commitment", help="the commitment you saw before the sale opened")
    args = parser.parse_args(argv)
    with open(args.file, encoding="utf-8") as handle:
        data = json.load(handle)
    problems = verify(data, args.commitment)
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        return 1
    order = data["order"]
    print(f"OK: the seed matches the commitment {data['commitment']}.")
    print(f"OK: the order of {len(order)} entrants is the one the seed gives.")
    if args.entrant:
        if args.entrant not in order:
            print(f"FAIL: entrant {args.entrant} is not in the draw.")
            return 1
        print(f"Entrant {args.entrant}: place {order.index(args.entrant) + 1} of {len(order)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
