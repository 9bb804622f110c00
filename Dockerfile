# One image for the four services; its first argument chooses what runs (services/entrypoint.py):
#   IMAGE intake|dispatch|feedback|audit   serve that service on HOTLINE_HOST:HOTLINE_PORT
#   IMAGE hotline migrate intake           the operator CLI, e.g. the migration Job
# BASE is any image whose `python3` is CPython 3.11 with the venv module: Debian bookworm's
# python3 + python3-venv (deploy/image.sh builds one with debootstrap) or the official slim
# image below. Pin it by digest in production (--build-arg BASE=...@sha256:...).
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS build
# Behind a TLS-inspecting proxy, deploy/image.sh mounts the host's CA bundle for this stage
# only and names it here; nothing of it is copied into the image.
ARG PIP_CERT
WORKDIR /src
COPY pyproject.toml ./
COPY requirements/runtime.lock requirements/
COPY shared/ shared/
COPY services/ services/
COPY intake_service/ intake_service/
COPY dispatch_service/ dispatch_service/
COPY feedback_service/ feedback_service/
COPY audit_service/ audit_service/
# Every dependency ships a manylinux wheel, so no compiler is needed even here. pip and
# setuptools leave the virtualenv once it is built: nothing in it can install anything.
# Every dependency and the build backend come from the hashed lock: the same bytes each build.
RUN python3 -m venv /opt/hotline \
    && /opt/hotline/bin/pip install --no-cache-dir --only-binary=:all: --require-hashes \
       -r requirements/runtime.lock \
    && /opt/hotline/bin/pip install --no-cache-dir --no-deps --no-build-isolation . \
    && /opt/hotline/bin/pip uninstall --yes pip setuptools

FROM ${BASE}
RUN groupadd --system --gid 10001 hotline \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin hotline
COPY --from=build /opt/hotline /opt/hotline
# The root filesystem is read-only in the pods: no bytecode written at run time (pip compiled
# it at build time) and TMPDIR is an emptyDir mounted at /tmp.
ENV PATH=/opt/hotline/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOTLINE_HOST=0.0.0.0 \
    HOTLINE_PORT=8080
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/opt/hotline/bin/python", "-m", "services.entrypoint"]
