"""Recording and replay: each trading day's tape as Parquet (docs/recording.md). No Django import.

* ``recording.writer.record_day``: a day's journal (``aggregation.journal``) → Parquet files,
  hive-partitioned ``day=YYYY-MM-DD/exchange=EX/part-0.parquet``;
* ``recording.query.ticks``: one contract-day through DuckDB, paged;
* ``recording.vnpy_export.export_day``: a day into vn.py's own database layer;
* ``recording.replay.ReplayServer``: a day played back through the hub's wire protocol;
* ``recording.layout``: where the files are, disk use, retention.

The web side (``monitoring.tape_views``) imports this room; this room imports only
``aggregation`` (the journal's reader, the wire format, the trading calendar).
"""
