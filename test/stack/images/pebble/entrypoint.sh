#!/bin/sh
# Hands the root of Pebble's own HTTPS certificate to the ACME client (a
# volume the acme service mounts), then runs Pebble.
set -e
if [ -n "${PEBBLE_EXPORT_DIR:-}" ]; then
  cp /pebble/pebble.minica.pem "$PEBBLE_EXPORT_DIR/pebble.minica.pem"
fi
exec /bin/pebble -config /pebble/pebble-config.json "$@"
