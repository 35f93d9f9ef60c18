"""Reading PhysioNet WFDB records and annotations (no third-party WFDB library needed)."""
