# modeltrail server: a slim, non-root image. Configure with environment variables:
#   MODELTRAIL_DATABASE_URL  postgresql+psycopg://user:password@host/db  (required in production)
#   MODELTRAIL_ADMIN_TOKEN   admin API token (required: the server listens on 0.0.0.0)
#   MODELTRAIL_ALLOWED_HOSTS names clients reach it by besides localhost (modeltrail.example.com)
# Run migrations once per release with: docker run ... modeltrail db upgrade
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MODELTRAIL_DATABASE_URL=sqlite:////data/modeltrail.db
COPY --from=build /dist/*.whl /tmp/
RUN pip install "$(ls /tmp/*.whl)[s3]" && rm /tmp/*.whl \
    && useradd --system --uid 10001 --home-dir /data --create-home modeltrail
USER 10001
WORKDIR /data
EXPOSE 8080
# The image has no curl: the probe is a few lines of Python against the liveness endpoint.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
ENTRYPOINT ["modeltrail"]
CMD ["server", "--host", "0.0.0.0", "--port", "8080"]
