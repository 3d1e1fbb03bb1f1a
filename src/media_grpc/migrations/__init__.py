"""Alembic migrations; `media-grpc migrate` applies them."""
