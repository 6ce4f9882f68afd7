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
#            configure/make; zlib for libz-sys) + cargo-chef.
#   planner  computes the dependency recipe from the manifests and Cargo.lock.
#   cook     compiles the dependencies of all five services once. This layer does not
#            depend on SERVICE, so the five image builds share it and it is only rebuilt
#            when Cargo.toml/Cargo.lock change.
#   builder  compiles the one service named by SERVICE (release profile: thin LTO, strip).
#   runtime  distroless/cc (glibc, libgcc, CA certificates, no shell), user nonroot.
#
# The builder is Debian 12 (bookworm) because the runtime is distroless cc-debian12: the
# binary links dynamically against glibc, so both must be the same Debian release.
# Builds need no database: SQLX_OFFLINE=true reads the committed .sqlx query data.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
# build-essential: gcc, make and libc headers for librdkafka's configure + make;
# zlib1g-dev and pkg-config for libz-sys; perl is used by librdkafka's mklove scripts.
# Versions are not pinned: the Debian release itself is pinned by the base image tag.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential \
        ca-certificates \
        perl \
        pkg-config \
        zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version "^0.1"
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS cook
COPY --from=planner /app/recipe.json recipe.json
# One cook per service: cargo-chef takes a single --package, and cooking the whole
# workspace would also build the dev tools (xtask, load tests). Later cooks reuse the
# dependencies compiled by earlier ones.
RUN for service in users catalog orders recommendations storefront; do \
        cargo chef cook --release --locked --recipe-path recipe.json --package "$service" || exit 1; \
    done

FROM cook AS builder
ARG SERVICE
COPY . .
RUN test -n "${SERVICE}" \
        || { echo "--build-arg SERVICE=<storefront|users|catalog|orders|recommendations> is required" >&2; exit 1; } \
    && cargo build --release --locked --package "${SERVICE}" --bin "${SERVICE}" \
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
COPY --from=builder /out/service /usr/local/bin/service
# 65532:65532 is distroless' "nonroot"; numeric so that runAsNonRoot can verify it.
USER 65532:65532
# Each service listens on its own default port (storefront 8080, users 8081, catalog 8082,
# orders 8083, recommendations 8084) unless LISTEN_ADDR says otherwise.
EXPOSE 8080-8084
# No HEALTHCHECK: the image has no shell or HTTP client to run one. Orchestrators probe
# /health/live and /health/ready over HTTP instead (see k8s/ and docs/deploy.md).
ENTRYPOINT ["/usr/local/bin/service"]
