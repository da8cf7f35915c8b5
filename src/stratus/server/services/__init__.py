"""Use cases of the server. Services never import FastAPI: routers translate HTTP to these calls."""
