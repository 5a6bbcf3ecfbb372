# Klantroef: one stateless API process (scale out with MySQL/MariaDB + Redis).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /app klantroef
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER klantroef
WORKDIR /app
ENV KLANTROEF_DATA_DIR=/app/var KLANTROEF_HOST=0.0.0.0 KLANTROEF_PORT=8000
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live')"
CMD ["klantroef", "serve"]
