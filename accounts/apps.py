from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import MarketDataAccount
        from accounts.signals import account_saved_or_deleted

        # dispatch_uid: ready() may run twice (tests, autoreload); connect once.
        post_save.connect(
            account_saved_or_deleted, sender=MarketDataAccount, dispatch_uid="accounts-changed-save"
        )
        post_delete.connect(
            account_saved_or_deleted, sender=MarketDataAccount, dispatch_uid="accounts-changed-delete"
        )
