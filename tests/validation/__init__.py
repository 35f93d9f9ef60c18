"""Validation harnesses: score Vigil's analysis against annotated databases."""
