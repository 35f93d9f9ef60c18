"""Offline training pipelines (the optional ``train`` extra); never imported at runtime."""
