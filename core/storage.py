"""Static files in production: hashed, compressed names from the manifest, and never a 500 for
want of one (``collectstatic`` not run yet, or a file added since): the plain name is served then."""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class ForgivingManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not in the manifest and not collected: the unhashed file, if any
            logger.warning("Static file %r is not collected; serving its plain name.", name)
            return name
