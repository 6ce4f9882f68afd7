# syntax=docker/dockerfile:1.7
#
# One image recipe for every Harbor Shop service:
#
#   docker build --build-arg SERVICE=catalog -t ghcr.io/harbor-shop/catalog:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       --build-arg SERVICE=catalog -t ghcr.io/harbor-shop/catalog:0.1.0 --push .
#
# SERVICE is one of: storefront, users, catalog, orders, recommendations (binary = crate name).
#
# Stages:
#   chef     Rust toolchain + C toolchain (rdkafka builds its bundled librdkafka with
#            configure/make) + cargo-chef.
#   planner  computes the dependency recipe from the manifests and Cargo.lock.
#   cook     compiles the dependencies of all five services, once.
#   builder  compiles all five services in one `cargo build` (release profile: thin LTO,
#            strip), so the workspace libraries are compiled once for the five.
#   pick     takes the one binary named by SERVICE.
#   runtime  distroless/cc (glibc, libgcc, CA certificates, no shell), user nonroot.
#
# Only `pick` and `runtime` depend on SERVICE. chef, planner, cook and builder do not, so
# building the five images (five `docker build`s, or one CI matrix with a shared cache)
# compiles everything once: BuildKit reuses those stages for the other four. cook is
# rebuilt only when a manifest or Cargo.lock changes, builder when any source does.
#
# The builder is Debian 12 (bookworm) because the runtime is distroless cc-debian12: the
# binary links dynamically against glibc, so both must be the same Debian release.
# Builds need no database: SQLX_OFFLINE=true reads the committed .sqlx query data.
#
# zlib is linked statically (rdkafka's `libz-static` feature, Cargo.toml): librdkafka
# needs zlib, and distroless cc-debian12 contains only libc6, libssl3, libgomp1,
# libstdc++6, libgcc-s1 and gcc-12-base (GoogleContainerTools/distroless base/config.bzl,
# cc/config.bzl), no libz.so.1. A binary linked against the system's libz would fail to
# start there, so the builder has no zlib1g-dev on purpose: libz-sys compiles its bundled
# zlib into the binary (`readelf -d` on the binary shows no libz.so.1).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
# build-essential: gcc, make and libc headers for librdkafka's configure + make (and the
# bundled zlib); perl for librdkafka's mklove scripts; pkg-config for its configure probes.
# Versions are not pinned: the Debian release itself is pinned by the base image tag.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential \
        ca-certificates \
        perl \
        pkg-config \
    && rm -rf /var/lib/apt/lists/*
# 0.1.53 or later: `cook` takes several --package.
RUN cargo install cargo-chef --locked --version "^0.1.53"
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS cook
COPY --from=planner /app/recipe.json recipe.json
# The dependencies of the five services in one cook, not the whole workspace: that would
# also build the dev tools (xtask, load tests).
RUN cargo chef cook --release --locked --recipe-path recipe.json \
        --package users --package catalog --package orders \
        --package recommendations --package storefront

FROM cook AS builder
COPY . .
RUN cargo build --release --locked \
        -p users -p catalog -p orders -p recommendations -p storefront

FROM builder AS pick
ARG SERVICE
RUN test -n "${SERVICE}" \
        || { echo "--build-arg SERVICE=<storefront|users|catalog|orders|recommendations> is required" >&2; exit 1; } \
    && install -D -m 0755 "target/release/${SERVICE}" /out/service

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG SERVICE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="harbor-shop-${SERVICE}" \
      org.opencontainers.image.description="Harbor Shop ${SERVICE} service" \
      org.opencontainers.image.source="https://github.com/harbor-shop/harbor-shop" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=pick /out/service /usr/local/bin/service
# 65532:65532 is distroless' "nonroot"; numeric so that runAsNonRoot can verify it.
USER 65532:65532
# Each service listens on its own default port (storefront 8080, users 8081, catalog 8082,
# orders 8083, recommendations 8084) unless LISTEN_ADDR says otherwise.
EXPOSE 8080-8084
# The binary is its own probe (no shell or curl here): `service healthcheck` GETs
# /health/ready on the port of LISTEN_ADDR and exits 0 when ready, 1 otherwise. The start
# period covers migrations at start-up. Kubernetes ignores HEALTHCHECK and probes the
# same endpoints over HTTP (k8s/base/patches/service-workload.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/service"]
