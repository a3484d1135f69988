# One image for the API and the worker: `predeparture api` (the default) or `predeparture worker`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREDEPARTURE_DATA_DIR=/var/lib/predeparture

# WeasyPrint renders the families' documents through Pango; Noto core covers the scripts of the languages families
# read (Arabic Naskh for Arabic, Dari and Pashto; Ethiopic, Myanmar, Devanagari, Latin).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fontconfig \
        fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*

COPY . /tmp/predeparture-src
RUN pip install /tmp/predeparture-src && rm -rf /tmp/predeparture-src

# The data directory is a volume shared by the API and the worker; created here so the volume inherits its owner.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/predeparture --shell /usr/sbin/nologin predeparture \
    && mkdir -p /var/lib/predeparture \
    && chown predeparture:predeparture /var/lib/predeparture \
    && chmod 0700 /var/lib/predeparture

USER predeparture
WORKDIR /var/lib/predeparture
EXPOSE 8000
CMD ["predeparture", "api"]
