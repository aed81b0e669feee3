# reportgen as a container: `docker build -t reportgen:1.0.0 .` (see docs/deploy.md).
# Two stages: wheels are built with pip in the first, so the image holds no compiler or sources.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY reportgen reportgen
COPY templates templates
COPY config/catalogs config/catalogs
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# WeasyPrint needs Pango; libharfbuzz-subset0 keeps fonts subset by HarfBuzz, which makes renders
# byte-identical (without it WeasyPrint falls back to fontTools and stamps the time into fonts).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
       libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 reportgen \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/reportgen reportgen \
    && mkdir -p /config /out && chown 10001:10001 /out
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels reportgen && rm -rf /wheels
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# From /, the defaults config/reportgen.yaml and output_dir "out" are the two volumes.
WORKDIR /
VOLUME ["/config", "/out"]
USER 10001:10001
ENTRYPOINT ["reportgen"]
CMD ["run", "--config", "/config/reportgen.yaml", "--out", "/out"]
