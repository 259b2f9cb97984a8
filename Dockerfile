# syntax=docker/dockerfile:1
# beacon: one image holding all four programs
#   beacon-producer, beacon-worker, beacon-progress-writer, beacon-infer-sim, beacon-dashboard
# docker-compose.yml runs each as its own service.
#
#   docker build -t beacon .
#   docker run --rm beacon beacon-producer --help

# ---------------------------------------------------------------- build stage
FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libpqxx-dev rapidjson-dev libspdlog-dev libfmt-dev \
      libboost-dev libboost-program-options-dev \
      librabbitmq-dev libssl-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*

# The sources live at /app, the same path as the runtime files below, so paths
# that the build compiles in (e.g. ${CMAKE_SOURCE_DIR}/data, .../migrations)
# are valid in the runtime image too.
WORKDIR /app
COPY . .
ARG BUILD_TYPE=RelWithDebInfo
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=${BUILD_TYPE} \
 && cmake --build /build -j"$(nproc)" \
 && mkdir -p /out \
 && for b in beacon-producer beacon-worker beacon-progress-writer beacon-infer-sim beacon-dashboard; do \
      install -m 0755 -s "/build/$b" "/out/$b"; \
    done

# ---------------------------------------------------------------- runtime stage
FROM debian:12-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# curl is for container health checks (GET /healthz on the metrics port).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpqxx-6.4 librabbitmq4 libspdlog1.10 libfmt9 libssl3 \
      libboost-program-options1.74.0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin beacon

COPY --from=build /out/ /usr/local/bin/
COPY migrations/ /app/migrations/
COPY examples/ /app/examples/
COPY data/ /app/data/

WORKDIR /app
ENV BEACON_MIGRATIONS_DIR=/app/migrations \
    BEACON_METRICS_ADDR=0.0.0.0:9100
EXPOSE 9100
USER beacon

# Each compose service sets its own command; this default just documents usage.
CMD ["beacon-producer", "--help"]
