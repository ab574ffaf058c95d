"""The OpenAPI schema's view of the errors every operation can give.

A view declares what only it answers (its 2xx, a failed login's 401, the hub's 503); the
errors that follow from how an operation is built are added here, from that build, so that
no view repeats them and none is forgotten:

* 400 when it reads a body or query parameters (DRF validates both);
* 403 always: a missing or invalid token is refused on every endpoint (even the open ones,
  since the token is checked before the view runs), and, where a permission applies, a
  user who may not do this;
* 404 when its path names something (an account's id, a stream client's name);
* 415 when it reads a body (a content type it has no parser for);
* 429 when it is throttled (the login endpoints).

A view's own entry for a status wins over the one added here; if it gives only a
description, the shared body shape is added to it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

from webbase.api_errors import VALIDATION_ERROR_SCHEMA, ErrorSerializer

FORBIDDEN_OPEN = (
    "The request carried an invalid token (`Authorization: Token <key>`), "
    "or a session without its CSRF token."
)
FORBIDDEN = (
    "Not logged in (no session, no valid `Authorization: Token <key>`), or not allowed: "
    "changing accounts and commanding gateways is for operators (staff users)."
)


class MdhubAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation["responses"]
        for status, implied in self._implied_errors(operation).items():
            own = responses.get(status)
            if own is None:
                responses[status] = implied
            elif not own.get("content"):
                # A view that only described the error gets the shared body shape with it.
                own["content"] = implied["content"]
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _implied_errors(self, operation: dict[str, Any]) -> dict[str, Any]:
        parameters = operation.get("parameters", [])
        reads_body = "requestBody" in operation
        errors: dict[str, Any] = {}
        if reads_body or any(p["in"] == "query" for p in parameters):
            errors["400"] = self._validation_error()
        is_open = all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        errors["403"] = self._error(FORBIDDEN_OPEN if is_open else FORBIDDEN)
        names = [p["name"] for p in parameters if p["in"] == "path"]
        if names:
            errors["404"] = self._error(f"Nothing with this {', '.join(names)}.")
        if reads_body:
            errors["415"] = self._error("The body's content type is not one this endpoint reads.")
        if self.view.get_throttles():
            errors["429"] = self._error(
                "Too many attempts from this address: wait and retry (`Retry-After` says how long)."
            )
        return errors

    def _error(self, description: str) -> dict[str, Any]:
        response: dict[str, Any] = self._get_response_for_code(  # type: ignore[no-untyped-call]
            ErrorSerializer, "403"
        )
        return {**response, "description": description}

    def _validation_error(self) -> dict[str, Any]:
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name="ValidationError",
            type=ResolvedComponent.SCHEMA,
            object="ValidationError",
            schema=VALIDATION_ERROR_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return {
            "description": "Invalid input: the body says which field or query parameter, and why.",
            "content": {"application/json": {"schema": component.ref}},
        }
