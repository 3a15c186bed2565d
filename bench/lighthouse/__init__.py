"""Lighthouse on the key pages (QUALITY.md P5); run it with `python -m bench.lighthouse`."""
