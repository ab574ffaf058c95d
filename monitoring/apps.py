from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from monitoring.tape_schedule import ensure_schedule

        # The recording's daily schedule exists wherever the database was migrated.
        post_migrate.connect(ensure_schedule, sender=self, dispatch_uid="mdhub-tape-schedule")
