"""Django admin for the trading-session calendar (session templates and holidays)."""

from __future__ import annotations

from django.contrib import admin

from monitoring.models import Holiday, SessionTemplate


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
