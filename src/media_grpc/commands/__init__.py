"""One module per `media-grpc` sub-command; each exposes ``register(subparsers)``."""
