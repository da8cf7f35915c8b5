"""The Python SDK: ``MLClient`` over HTTP, shaped like ``azure.ai.ml.MLClient``."""

from stratus.client.ml_client import MLClient

__all__ = ["MLClient"]
