# Klantroef: one stateless API process. Several of them behave as one service on
# MariaDB, Redis and an S3 bucket: see compose.yaml and the README's "Deploy".
#
#   docker build -t klantroef .
#   docker run -p 8000:8000 -v klantroef-data:/var/lib/klantroef klantroef
#
# Every RUN below is also run outside Docker, in a plain virtual environment, by
# tests/deploy/test_dockerfile.py; hadolint lints this file in CI.

# --- build: the project as a wheel, installed into a virtual environment ----------------
FROM python:3.11.14-slim-trixie AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/klantroef \
    && /opt/klantroef/bin/pip install /wheels/klantroef-*.whl \
    && /opt/klantroef/bin/klantroef --help \
    && mkdir -p /data

# --- run: the virtual environment on the same slim base, as an unprivileged user ---------
FROM python:3.11.14-slim-trixie
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Klantroef" \
      org.opencontainers.image.description="An open media-asset backend: uploads, expiring streaming links, view analytics." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-trixie"
ENV PATH=/opt/klantroef/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/klantroef \
    KLANTROEF_DATA_DIR=/var/lib/klantroef \
    KLANTROEF_HOST=0.0.0.0 \
    KLANTROEF_PORT=8000
COPY --from=build /opt/klantroef /opt/klantroef
# The data folder (SQLite file, uploads, generated secrets), owned by the user the
# server runs as; numeric, so no account has to be added to the base image.
COPY --from=build --chown=10001:10001 /data /var/lib/klantroef
USER 10001:10001
WORKDIR /var/lib/klantroef
VOLUME ["/var/lib/klantroef"]
EXPOSE 8000
# docker stop sends SIGTERM: requests in flight get KLANTROEF_SHUTDOWN_GRACE seconds
# (8 by default, under Docker's 10 s stop timeout), then are cut off cleanly.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["klantroef", "health"]
ENTRYPOINT ["klantroef", "serve"]
