"""Static files storage that never turns a missing collectstatic into a server error."""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class ForgivingManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed names from the manifest; the plain name when a file is not in it.

    With DEBUG off and ``collectstatic`` not run (or run before a file was added), Django's manifest
    storage raises on every ``{% static %}``, so every page became a 500. A page with an unstyled
    stylesheet link is better than no page; the log says what to run.
    """

    manifest_strict = False
    _warned = False

    def hashed_name(self, name, content=None, filename=None):
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if not ForgivingManifestStaticFilesStorage._warned:
                ForgivingManifestStaticFilesStorage._warned = True
                logger.warning("Static files are not collected (%s); run `manage.py collectstatic`.", name)
            return name
