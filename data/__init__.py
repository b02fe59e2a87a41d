"""Feed generation, validated ingest, snapshots, exports and the vendor vault."""
