"""``python -m mdhub_client`` (or ``mdhub-client``): print the hub's ticks, snapshot first."""

from __future__ import annotations

import sys

from aggregation.client import main

if __name__ == "__main__":
    sys.exit(main())
