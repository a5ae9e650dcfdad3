# opsctl inside the stack: the one-shot init jobs (buckets, Alertmanager
# config), the health probe of images that ship no wget, and the backups,
# which run restic.
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

# restic for the backups, a stage of its own so that a change of opsctl does
# not build it again. Built as module@version outside /src, so restic's own
# go.mod decides its dependencies, not ours. The version is the one opsctl
# pins (tools.ResticVersion; a test keeps the two equal), its flags those of
# restic's release builds (build.go) without selfupdate: the binary is
# pinned here and must not replace itself. Static (CGO_ENABLED=0): the image
# has no libc.
FROM ${GO_IMAGE} AS restic
ARG RESTIC_VERSION=v0.18.1
RUN CGO_ENABLED=0 GOWORK=off GOFLAGS=-trimpath GOBIN=/out go install -trimpath -tags disable_grpc_modules \
      -ldflags "-s -w -X main.version=${RESTIC_VERSION#v}" github.com/restic/restic/cmd/restic@${RESTIC_VERSION} \
 && /out/restic version | grep -q "^restic ${RESTIC_VERSION#v} "
# What restic needs besides itself, in /rootfs/ to be copied to /. restic
# writes its temporary pack files to TMPDIR (/tmp); scratch has no /tmp, and
# only COPY makes one there. COPY of a directory creates the target 0755
# whatever the source's mode, while the directories inside keep theirs: so
# the parent is copied, holding an empty tmp of mode 1777 (sticky and
# writable by all, as in every distribution). Its licence (BSD-2-Clause)
# asks that the binary carry the notice: from the module go install fetched.
RUN mkdir -p /rootfs/usr/share/doc/restic && mkdir -m 1777 /rootfs/tmp \
 && cp "$(go env GOMODCACHE)/github.com/restic/restic@${RESTIC_VERSION}/LICENSE" /rootfs/usr/share/doc/restic/LICENSE

FROM scratch
COPY --from=build /out/opsctl /opsctl
COPY --from=build /out/ops-probe /ops-probe
COPY --from=restic /out/restic /restic
# restic talks HTTPS to the S3 target: it verifies the server with these.
COPY --from=restic /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=restic /rootfs/ /
ENTRYPOINT ["/opsctl"]
