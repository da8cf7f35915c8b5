"""The workspace server (FastAPI)."""
