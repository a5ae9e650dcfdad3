# opsctl inside the stack: the one-shot init jobs (buckets, Alertmanager
# config) and the health probe of images that ship no wget.
ARG GO_IMAGE=golang:1.26.4
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
# The root go.mod replaces the contracts' modules with their directories;
# go reads its go.mod to load the module graph even where opsctl does not
# import the package.
COPY pkg/hftmetrics/go.mod pkg/hftmetrics/go.sum ./pkg/hftmetrics/
COPY pkg/hftdata/go.mod pkg/hftdata/go.sum ./pkg/hftdata/
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
# The contract's module: cmd/opsctl does not import it today, a later import
# then still builds.
COPY pkg ./pkg
ARG VERSION=0.1.0
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/opsctl ./cmd/opsctl \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ops-probe ./cmd/ops-probe

FROM scratch
COPY --from=build /out/opsctl /opsctl
COPY --from=build /out/ops-probe /ops-probe
ENTRYPOINT ["/opsctl"]
