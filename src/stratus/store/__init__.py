"""Metadata store: one module of ABCs and records per domain, and their SQL implementation in ``sql/``."""
