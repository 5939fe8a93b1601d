# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone in a minimal non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/rolegate ./cmd/rolegate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rolegate /usr/local/bin/rolegate
ENV LISTEN_ADDR=:8080 \
    LOG_FORMAT=json
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/rolegate"]
CMD ["serve"]
