"""Products written to disk (the only part of dronepipe that writes files), each atomically."""
