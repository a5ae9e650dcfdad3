#!/bin/sh
# Entrypoint of okx-local/nginx: the parts of the official image's entrypoint that a
# compose file can rely on, written for this test image.
#  - /etc/nginx/templates/**/*.template -> /etc/nginx/conf.d/** through envsubst, with only
#    the variables that are set (optionally those matching NGINX_ENVSUBST_FILTER);
#    NGINX_ENVSUBST_TEMPLATE_DIR / _SUFFIX / NGINX_ENVSUBST_OUTPUT_DIR override the defaults
#  - NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1 exports NGINX_LOCAL_RESOLVERS (from resolv.conf)
#  - executables in /docker-entrypoint.d/*.sh are run, *.envsh are sourced
#  - NGINX_ENTRYPOINT_QUIET_LOGS=1 silences this script
set -e

log() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: $*" >&2; }

render_templates() {
  template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
  suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
  output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
  filter="${NGINX_ENVSUBST_FILTER:-}"
  [ -d "$template_dir" ] || return 0
  if [ ! -w "$output_dir" ]; then
    log "ERROR: $template_dir exists, but $output_dir is not writable"
    return 0
  fi
  # shellcheck disable=SC2016,SC2046
  defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))
  find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative_path="${template#"$template_dir/"}"
    output_path="$output_dir/${relative_path%"$suffix"}"
    subdir=$(dirname "$relative_path")
    mkdir -p "$output_dir/$subdir"
    log "running envsubst on $template to $output_path"
    envsubst "$defined_envs" <"$template" >"$output_path"
  done
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
  if [ -n "${NGINX_ENTRYPOINT_LOCAL_RESOLVERS:-}" ]; then
    NGINX_LOCAL_RESOLVERS=$(awk 'BEGIN{ORS=" "} $1=="nameserver" {if ($2 ~ ":") {print "["$2"]"} else {print $2}}' /etc/resolv.conf)
    NGINX_LOCAL_RESOLVERS="${NGINX_LOCAL_RESOLVERS% }"
    export NGINX_LOCAL_RESOLVERS
  fi
  for f in $(find /docker-entrypoint.d/ -follow -type f -print 2>/dev/null | sort -V); do
    # shellcheck disable=SC1090 # the init scripts are the user\'s
    case "$f" in
      *.envsh) if [ -x "$f" ]; then log "sourcing $f"; . "$f"; fi ;;
      *.sh) if [ -x "$f" ]; then log "launching $f"; "$f"; fi ;;
    esac
  done
  render_templates
  log "configuration complete; ready for start up"
fi

exec "$@"
