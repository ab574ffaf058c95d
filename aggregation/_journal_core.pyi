"""Types of the journal's compiled framing (aggregation/_journal_core.pyx)."""

from typing import Any

def frame_batch(
    items: list[tuple[bytes, bytes, int, bytes]], epoch: int, last: dict[bytes, int], at: int
) -> tuple[bytes, list[tuple[bytes, int, int, int]], list[tuple[bytes, int, int]], dict[bytes, int], int]: ...
def add_entries(
    index: dict[bytes, Any], entries: list[tuple[bytes, int, int, int]], epoch: int, run_type: Any
) -> None: ...
