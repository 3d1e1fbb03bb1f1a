"""Adapters at the edges: database, object storage, broker. Driver errors stop here."""
