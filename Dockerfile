# syntax=docker/dockerfile:1
# The CFA image: the worker (cfa-worker, the default command) and the CLI
# (cfa, which also serves the API: `cfa serve`). docker-compose.yaml runs it
# as the setup, the worker and the API (docs/adr/0120-deployment.md).
#
# internal/app/dockerfile_test.go reads this file and runs its go build
# commands, with its ENV, on the host: keep the builds in a RUN of their own,
# in the shell form, joined by && only.

# Build: the same Debian release as the runtime stage below, because the
# binaries are cgo (pg_query_go compiles the Postgres parser into them) and
# link the glibc of the stage they are built in.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/cfa-worker ./cmd/cfa-worker && \
    go build -ldflags="-s -w" -o /out/cfa ./starter

# Runtime: glibc (the only shared library the binaries load) and CA
# certificates (TLS to Postgres, Temporal, a webhook, an OTLP collector).
# The catalog and the policy bundle are embedded in the binaries; mount your
# own and point CFA_CATALOG_DIR and CFA_POLICY_DIR at them to replace them.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* && \
    groupadd --gid 10001 cfa && \
    useradd --uid 10001 --gid 10001 --home-dir /var/lib/cfa --no-create-home --shell /usr/sbin/nologin cfa && \
    install -d -o 10001 -g 10001 -m 0750 /var/lib/cfa
COPY --from=build /out/cfa-worker /out/cfa /usr/local/bin/
# The only directory the processes may write (CFA_OPENLINEAGE_FILE, for
# example): a named volume mounted here starts owned by uid 10001.
WORKDIR /var/lib/cfa
USER 10001:10001
# 8480: `cfa serve` (gRPC, gRPC-Web, JSON, /metrics, /healthz).
# 9464: the worker's Prometheus metrics (CFA_METRICS_LISTEN).
EXPOSE 8480 9464
CMD ["cfa-worker"]
