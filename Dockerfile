# condcache's container image: one static binary on an empty base (no shell,
# no package manager), run as an unprivileged user. One image for every
# role: the command (reader, writer, migrate, check) is the argument.
#
#   docker build -t condcache .                  # needs the golang image
#   docker run condcache reader -primary …       # or the variables of docs/operations.md
#
# Machines that reach no image registry build the same image from a binary
# built on the host: Dockerfile.local (see deploy/images/build.sh).
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/condcache ./cmd/condcache

FROM scratch
# CA certificates for rediss:// and sslmode=verify-full; nothing else.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/condcache /condcache
# Listen on every interface (the binary's defaults are loopback only).
ENV CONDCACHE_READER_ADDR=0.0.0.0:8000 \
    CONDCACHE_WRITER_ADDR=0.0.0.0:8001
EXPOSE 8000 8001
# nobody:nogroup of distroless; no file of the image needs writing.
USER 65532:65532
# No shell: the binary probes itself (the reader's port, else the writer's;
# CONDCACHE_HEALTHCHECK_URL overrides). A writer waits for its primary before
# it listens: the start period covers that.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["/condcache", "healthcheck"]
ENTRYPOINT ["/condcache"]
CMD ["reader"]
