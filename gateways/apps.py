from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "gateways"
    verbose_name = "Gateways"

    def ready(self) -> None:
        from gateways import checks  # noqa: F401 - registers the system checks
        from gateways.depthtee import checks as depth_tee_checks  # noqa: F401 - the depth tee's
