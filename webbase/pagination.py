"""``limit``/``offset`` paging that refuses bad values instead of ignoring them.

DRF's ``LimitOffsetPagination`` reads ``limit=abc`` or ``offset=null`` as "not given" and
answers a page anyway, so a script with a typo gets the wrong page and never knows. Here the
two parameters go through a serializer: a bad one is a 400 naming it, like every other query
parameter of the API, and the schema states their bounds.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_PAGE = 1000


class PageQuerySerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    offset = serializers.IntegerField(required=False, min_value=0)


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_PAGE

    def _page_query(self, request: Request) -> dict[str, Any]:
        # Only the two paging parameters: the view's own filters are validated by the view.
        data = {
            name: request.query_params[name]
            for name in (self.limit_query_param, self.offset_query_param)
            if name in request.query_params
        }
        query = PageQuerySerializer(data=data)
        if not query.is_valid():
            raise ValidationError(query.errors)
        validated: dict[str, Any] = query.validated_data
        return validated

    def get_limit(self, request: Request) -> int | None:
        limit: int | None = self._page_query(request).get(self.limit_query_param, self.default_limit)
        return limit

    def get_offset(self, request: Request) -> int:
        offset: int = self._page_query(request).get(self.offset_query_param, 0)
        return offset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": MAX_PAGE},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
