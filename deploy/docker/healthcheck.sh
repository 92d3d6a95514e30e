#!/bin/bash
# Container health check for the ebsp-coordinator image (Dockerfile HEALTHCHECK).
# Healthy when the coordinator's own /metrics endpoint answers with the
# ebsp_build_info metric: the process is up and its exporter serves. Uses only
# bash's /dev/tcp and coreutils, which debian:12-slim has.
# Env: EBSP_METRICS_PORT (default 9464), EBSP_METRICS_HOST (default 127.0.0.1).
set -u
host=${EBSP_METRICS_HOST:-127.0.0.1}
port=${EBSP_METRICS_PORT:-9464}
# Bounded: the connection, the request and the read all sit under one timeout.
exec timeout 4 bash -c '
  exec 3<>"/dev/tcp/$0/$1" || exit 1
  printf "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
  grep -q "^ebsp_build_info" <&3
' "$host" "$port"
