"""Use cases. Plain values in, domain objects out, domain errors raised; no gRPC here."""
