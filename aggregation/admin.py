from __future__ import annotations

from django.contrib import admin

from aggregation.models import Contract


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin[Contract]):
    list_display = ["vt_symbol", "name", "exchange", "product", "size", "pricetick", "is_subscribed"]
    list_editable = ["is_subscribed"]
    list_filter = ["exchange", "product", "is_subscribed"]
    search_fields = ["vt_symbol", "name"]
