# The media-grpc service image: `media-grpc serve`, `worker`, `migrate`, `storage init`, ...
# PyAV and Pillow come as manylinux wheels with their own FFmpeg and codecs: no system ffmpeg.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY generated ./generated
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 media
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER media
WORKDIR /home/media
# Production mode: every URL must be configured and the JWT secret must be a real one (the
# server refuses a public or short secret on 0.0.0.0).
ENV MEDIA_ENVIRONMENT=production \
    MEDIA_GRPC_LISTEN=0.0.0.0:50051 \
    MEDIA_METRICS_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 50051 9464
ENTRYPOINT ["media-grpc"]
CMD ["serve"]
