# syntax=docker/dockerfile:1
# `contas` in a container: compiled in the official Rust image, run as a
# non-root user on a slim Debian with nothing but the binary.
# Build: docker build -t contas .   Run: see docker-compose.yml.

# Overridable so CI can build offline from local images (.ci/containers).
ARG RUST_IMAGE=rust:1.94-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Yields /out/contas. CI replaces this stage with a directory holding a
# binary built on the host: `--build-context builder=DIR` (a named context
# overrides the stage of the same name, in BuildKit and in podman).
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
# Cache mounts keep the crate registry and compiled dependencies across
# builds, so a source change recompiles only `contas` itself. The binary is
# copied out because a cache mount is not part of the image.
# The source revision /metrics reports (contas_build_info); the context has
# no .git: `docker build --build-arg CONTAS_REVISION=$(git rev-parse --short=12 HEAD)`.
ARG CONTAS_REVISION=unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
    && install -D -m 0755 target/release/contas /out/contas

FROM ${RUNTIME_IMAGE}
COPY --from=builder /out/contas /usr/local/bin/contas
# A containerised `contas serve` needs DATABASE_URL: the image has no
# PostgreSQL binaries for the embedded cluster.
ENV CONTAS_BIND=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["contas", "healthcheck"]
ENTRYPOINT ["contas"]
CMD ["serve"]
