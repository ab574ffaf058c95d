"""The engine room: the hub's loop, supervision, commands, health, failover, restart
policy and the status document (docs/architecture.md). No Django import (an import-linter
contract says so): ``mdhub_project.management.commands.runhub`` reads the configuration
from the database and wires the engine to the operations side (``monitoring.publisher``).
"""
