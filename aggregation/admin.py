from __future__ import annotations

from django.contrib import admin

from aggregation.models import Contract, ProductSubscription


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin[Contract]):
    list_display = [
        "vt_symbol",
        "name",
        "exchange",
        "product",
        "expiry",
        "size",
        "pricetick",
        "is_subscribed",
    ]
    list_editable = ["is_subscribed"]
    list_filter = ["exchange", "product", "is_subscribed", "from_universe"]
    search_fields = ["vt_symbol", "name"]


@admin.register(ProductSubscription)
class ProductSubscriptionAdmin(admin.ModelAdmin[ProductSubscription]):
    list_display = ["name", "is_enabled"]
    list_editable = ["is_enabled"]
