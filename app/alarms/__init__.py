"""The alarm system after IEC 60601-1-8: conditions, priorities, the engine and its log."""
