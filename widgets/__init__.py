"""Qt views of Vigil. They read models and buffer snapshots and emit user intents; no I/O."""
