"""API schema pieces: drf-spectacular hooks and the shared error envelope."""

from rest_framework import serializers


def drop_trailing_slash_aliases(endpoints):
    """`core.urls.api_path` serves each API route with and without a trailing slash; document it once."""
    paths = {path for path, *_ in endpoints}
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if not (path.endswith("/") and path.rstrip("/") in paths)
    ]


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable upper-case code, e.g. SEAT_UNAVAILABLE.")
    message = serializers.CharField(help_text="Readable text for the fan.")
    details = serializers.DictField(help_text="Per-field messages for VALIDATION_ERROR, else context.")


class ErrorSerializer(serializers.Serializer):
    """The one error envelope of every API endpoint (see core.exceptions.api_exception_handler)."""

    error = ErrorBodySerializer()


# What core.parsers.parse_json refuses in any string: PostgreSQL cannot store NUL.
NO_NUL_PATTERN = "^[^\\u0000]*$"


def forbid_nul_in_request_strings(result, generator, request, public):
    """Document, on every free-text string of a request body, that NUL characters are refused (400)."""

    def visit(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and not ({"format", "enum", "pattern"} & node.keys()):
                node["pattern"] = NO_NUL_PATTERN
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            visit(component)
    return result
