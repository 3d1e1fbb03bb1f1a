"""The stages: one module per product (``generate_image_variants``, ``process_video``, ...), each
with the shape of ``media_grpc/domain/stage.py``. Their helpers live apart, in ``workers/image/``
and ``workers/video/``."""
