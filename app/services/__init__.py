"""Writes: typed functions that change state. They flush, never commit."""
