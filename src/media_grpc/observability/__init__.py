"""Metrics (Prometheus) and structured logs: what operators see of a running service."""
