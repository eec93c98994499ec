# The CFA worker and CLI. Used by docker-compose.yaml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo: static validation parses SQL with the Postgres parser (pg_query_go).
RUN go build -o /out/cfa-worker ./cmd/cfa-worker && go build -o /out/cfa ./starter

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/cfa-worker"]
