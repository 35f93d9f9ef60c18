"""Early-warning scores computed from charted observations (NEWS2)."""
