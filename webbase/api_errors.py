"""The shapes of the API's error answers, shared by every view and by the schema.

DRF answers every error but a validation error with ``{"detail": "..."}``; a validation
error maps each bad field or query parameter to what is wrong with it
(``{"limit": ["Ensure this value is greater than or equal to 1."]}``; nested for
``settings``). Views name the errors only they give (401 for a failed login, 503 when the
hub cannot be reached) with :func:`error`; the ones any operation can give are added to
every operation by ``mdhub_project.api_schema``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField(help_text="What went wrong, and what to do about it, as a sentence.")


def error(description: str) -> OpenApiResponse:
    """An error answer of the ``{"detail": ...}`` kind, for ``extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorSerializer, description=description)


# The value of one entry of a validation error: a list of reasons, a map of them for a
# nested field (``settings``, ``canaries``), or a plain sentence (a body that is no JSON).
_REASONS: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "additionalProperties": True},
        {"type": "string"},
    ]
}

VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Each bad field or query parameter, by name, with what is wrong with it. "
    "`non_field_errors` holds reasons that concern no single field; `detail` a body that could "
    "not be read at all.",
    "additionalProperties": _REASONS,
    "example": {"limit": ["A valid integer is required."]},
}
