"""Data services: derived data (bars, option Greeks) computed off the tick path and
published through the hub like ticks (docs/services.md). No Django import."""
