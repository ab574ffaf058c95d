# mdhub: one image for every process of the hub. The command picks the role:
#   web       daphne -b 0.0.0.0 -p 8000 mdhub_project.asgi:application   (the default)
#   hub       python manage.py runhub
#   qcluster  python manage.py qcluster
#   migrate   python manage.py migrate --noinput
# docker-compose.yml runs each of them; docs/operations.md explains how to operate them.
#
# Stages: "dashboard" builds the Next.js static export (frontend/out) with Node,
# "build" compiles the Python packages (the vn.py gateways build from C++ sources) into a
# virtualenv, and the final stage is a slim runtime with neither Node nor a compiler.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- dashboard: frontend/ -> frontend/out -----------------------------------------------
FROM ${NODE_IMAGE} AS dashboard
ENV NEXT_TELEMETRY_DISABLED=1
WORKDIR /src/frontend
# "fronten[d]" is a glob, so these steps also pass on a tree without a dashboard; the
# Django side then redirects / to the admin. The package files come first so that the
# npm ci layer stays cached while only the sources change.
COPY fronten[d]/package*.json ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund; fi
COPY fronten[d]/ ./
RUN if [ -f package.json ]; then npm run build; fi \
    && mkdir -p out

# --- build: Python packages into /opt/venv ----------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# g++ for vnpy_ctp/vnpy_sopt (C++ sources), gcc + pkg-config + libmariadb-dev for mysqlclient,
# zlib1g-dev for the compiled journal writer (crc32).
# Package versions follow the pinned base image, so they are not pinned again here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ pkg-config libmariadb-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.txt ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install -r requirements.txt
ENV PATH=/opt/venv/bin:$PATH
# The source build of vnpy_ctp/vnpy_sopt records their vendor library by the path of a
# temporary build directory, which is gone now: point it at the copy beside each module.
COPY gateways/ gateways/
# vn.py declares PySide6 (its desktop GUI, about 650 MB) but the headless hub never
# imports it; drop it unless KEEP_QT=1. The import check below proves the gateways load.
ARG KEEP_QT=0
RUN python -m gateways.vnpy_repair \
    && if [ "$KEEP_QT" != 1 ]; then \
         pip uninstall -y PySide6 PySide6_Essentials PySide6_Addons shiboken6; \
       fi \
    && python -c "from vnpy_ctp import CtpGateway; from vnpy_sopt import SoptGateway"
# The compiled tick path (Cython: the worker's codec, the hub's core, the journal writer),
# built here where the compiler is; without it the image would run the slower pure-Python
# twins (setuptools, pinned in requirements.txt, drives the build).
COPY aggregation/ aggregation/
RUN python -m aggregation.build_ext \
    && python -c "from aggregation import emit_core, tick_codec; assert tick_codec.COMPILED and emit_core.COMPILED"

# --- runtime ----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# libmariadb3: mysqlclient; libstdc++6: the vn.py gateways; tzdata: TZ; locales: the CTP and
# SOPT wrappers convert the exchanges' GBK messages through the zh_CN.GB18030 locale and
# fail without it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 libstdc++6 locales tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && echo "zh_CN.GB18030 GB18030" > /etc/locale.gen \
    && locale-gen \
    && groupadd --system --gid 10001 mdhub \
    && useradd --system --uid 10001 --gid mdhub --home-dir /home/mdhub --create-home \
       --shell /usr/sbin/nologin mdhub

ENV PATH=/opt/venv/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=mdhub_project.settings \
    DATABASE_URL=sqlite:////app/data/db.sqlite3 \
    MDHUB_RUN_DIR=/app/run \
    TZ=Asia/Shanghai

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code stays owned by root: the processes only write to the directories made below.
COPY . .
COPY --from=dashboard /src/frontend/out ./frontend/out
COPY --from=build /src/aggregation/*.so ./aggregation/
# run/: the hub's run files (MDHUB_RUN_DIR), the gateways' vn.py flow files among them;
# .vntrader/: vn.py's folder for processes started here (vn.py uses ./.vntrader when it
# exists); data/: the SQLite database of the default DATABASE_URL above (docker-compose.yml
# sets MariaDB). Each one is a volume in docker-compose.yml.
# `check` fails the build when a gateway module or a setting does not load.
RUN mkdir -p run .vntrader data \
    && chown mdhub:mdhub run .vntrader data \
    && python manage.py collectstatic --noinput --verbosity 0 \
    && python manage.py check

# Numeric, so that the runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001
# 8000: web (HTTP and WebSocket); 5555: tick PUB; 5556: snapshot ROUTER; 5557: recovery ROUTER;
# 5558: conflation ROUTER.
EXPOSE 8000 5555 5556 5557 5558
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "mdhub_project.asgi:application"]
