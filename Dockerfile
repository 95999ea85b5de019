# The service's image: the runtime dependencies only (requirements.lock, every file checked
# against its hash; the test tools of requirements-dev.lock never enter it), the application
# code only (.dockerignore), run as an unprivileged user. Migrations are not run here: the
# compose stack runs them once, in its `migrate` service, before the replicas start.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
# Wheels only: the runtime stage has no compiler, and none is needed.
RUN /venv/bin/pip install --require-hashes --no-deps --only-binary=:all: \
        -r /tmp/requirements.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin chat
COPY --from=build /venv /venv
WORKDIR /app
# Owned by root: the service cannot rewrite its own code.
COPY . .
USER chat
EXPOSE 8000
# urlopen raises on a 503 (database or Redis unreachable): unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "project.asgi:application"]
