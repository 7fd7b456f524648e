# syntax=docker/dockerfile:1
# Stage 1: build the frontend (the wheel ships it prebuilt; this keeps the image reproducible
# from sources alone).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# Stage 2: build the wheel with the fresh frontend inside.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY collabcode/ ./collabcode/
COPY --from=frontend /src/collabcode/static/ ./collabcode/static/
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist

# Stage 3: the runtime image: the wheel, a non-root user, one volume.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin collabcode \
 && mkdir -p /data && chown collabcode /data && chmod 700 /data
# The audited, hash-checked dependency versions (requirements.lock), then the wheel without re-resolving.
COPY requirements.lock /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=wheel /dist/*.whl /tmp/
RUN pip install --no-cache-dir --no-deps /tmp/*.whl && rm /tmp/*.whl
USER collabcode
VOLUME ["/data"]
EXPOSE 8000 3478/udp
ENV COLLABCODE_LOG_FORMAT=json
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["collabcode", "serve", "--host", "0.0.0.0", "--data-dir", "/data"]
