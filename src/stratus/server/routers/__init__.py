"""Thin routers: parse, authorize (declared per route, enforced by ``SecuredRoute``), call a service."""
