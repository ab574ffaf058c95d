"""Django admin for the trading-session calendar (session templates and holidays)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from monitoring.models import Event, Holiday, SessionTemplate


@admin.register(SessionTemplate)
class SessionTemplateAdmin(admin.ModelAdmin[SessionTemplate]):
    list_display = ["__str__", "exchange", "product", "is_night", "kind", "start", "end", "note"]
    # Times are what change when an exchange adjusts its hours: edit them in the list.
    list_editable = ["start", "end", "kind", "note"]
    list_filter = ["exchange", "is_night", "kind"]
    search_fields = ["exchange", "product", "note"]
    ordering = ["exchange", "product", "is_night", "start"]
    list_per_page = 200


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin[Holiday]):
    list_display = ["date", "weekday", "name"]
    list_editable = ["name"]
    search_fields = ["name"]
    date_hierarchy = "date"
    ordering = ["date"]

    @admin.display(description="weekday")
    def weekday(self, holiday: Holiday) -> str:
        return f"{holiday.date:%A}"


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    """What happened to the sources, written by the hub; read-only here."""

    list_display = ["ts", "account", "kind", "state_from", "state_to", "reason"]
    list_filter = ["kind", "state_to", "account"]
    search_fields = ["account", "reason"]
    date_hierarchy = "ts"
    list_per_page = 200

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
