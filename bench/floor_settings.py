"""The shipped settings with two trivial views added (``bench/floor_urls.py``), for the pages benchmark's
"Django floor" rows: what any logged-in page costs through ``python -m ticketing.serve`` before its
view does anything. A comparison, like the ceiling app: no fan ever asks for these URLs."""

from ticketing.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
