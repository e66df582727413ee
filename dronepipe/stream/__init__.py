"""Live mode: telemetry and frames as they arrive, the same Mosaic and hotspot tracker, served to the command centre."""
