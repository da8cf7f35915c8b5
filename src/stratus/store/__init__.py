"""Metadata store: per-domain ABCs and their SQL implementation."""
