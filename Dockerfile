# The media-grpc service image: `media-grpc serve`, `worker`, `migrate`, `storage init`, ...
# PyAV and Pillow come as manylinux wheels with their own FFmpeg and codecs: no system ffmpeg.
# Every dependency comes from uv.lock with its hash, as `make install` takes them.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements-uv.txt ./
RUN pip install --no-cache-dir --require-hashes -r requirements-uv.txt
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
COPY generated ./generated
RUN uv export --frozen --no-dev --no-emit-project --format requirements-txt -o requirements.txt \
 && pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.txt \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 media
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl && rm -rf /wheels
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
