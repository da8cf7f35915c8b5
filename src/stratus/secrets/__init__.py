"""Key vault pieces. For now: the server's master key, which later wraps per-workspace data keys."""
