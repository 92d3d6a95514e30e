#!/usr/bin/env bash
# Builds the coordinator image from the repository's Dockerfile with podman and
# checks the running container, from scratch on a Debian 12 machine with no
# registry access (deploy/README.md, "Build and test the image locally"):
#
#   1. tools     installs podman, buildah, debootstrap and runc if missing;
#   2. bases     makes the Dockerfile's base images (debian:12.11 and
#                debian:12.11-slim) with debootstrap from the Debian mirror
#                this machine's apt already uses, the slim one cleaned like the
#                official image; cached (podman storage and a tarball), so a
#                second run takes seconds;
#   3. build     podman build --format docker (the OCI default drops HEALTHCHECK);
#   4. run       the image read-only, all capabilities dropped, no new privileges;
#   5. checks    uid and gid 10001 (with names), read-only root, no capabilities,
#                /metrics serves the ebsp_ series, the health check passes, a
#                real Python client runs a short ElasticBSP job against it,
#                SIGTERM stops it with exit code 0 within 5 s;
#   6. size      prints the image size, fails past EBSP_IMAGE_MAX_MB (150).
# Prints the time of each step. Exit 0: all passed; 1: a check failed;
# 77: skipped because no container can start here at all (the reason is printed).
#
# Env: EBSP_BUILD_DIR (build tree; default <repo>/build), EBSP_PYTHON_GEN_DIR
#      (the Python stubs; default <build>/protos/python, built if missing), EBSP_IMAGE (tag, default localhost/ebsp-coordinator:test),
#      EBSP_IMAGE_CACHE (base tarballs, default /var/cache/ebsp-image),
#      EBSP_IMAGE_MAX_MB (default 150).
# This sandbox needs two run flags (ulimits, runc); both are harmless elsewhere.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${EBSP_BUILD_DIR:-$root/build}
python_gen_dir=${EBSP_PYTHON_GEN_DIR:-$build_dir/protos/python}
image=${EBSP_IMAGE:-localhost/ebsp-coordinator:test}
cache_dir=${EBSP_IMAGE_CACHE:-/var/cache/ebsp-image}
max_mb=${EBSP_IMAGE_MAX_MB:-150}
# Base tarballs older than this are made again (a mirror that is not a
# snapshot moves on; the point release in the FROM line should too).
cache_max_age_days=7
# Bump when the recipe of the base root filesystems changes.
recipe_version=1
# setrlimit(RLIMIT_NOFILE) in the container fails in this sandbox unless the
# limits are given; crun rejects the hybrid cgroup setup, runc does not.
podman_flags=(--runtime runc --ulimit nofile=16384:16384 --ulimit nproc=32768:32768)

script_start=$(date +%s.%N)
declare -a timings=()
step_start=0
step() {  # step NAME: starts timing a step
  step_name=$1
  step_start=$(date +%s.%N)
  echo "== $step_name"
}
step_done() {
  local t
  t=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  timings+=("$(printf '%-8s %6ss' "$step_name" "$t")")
  echo "   ($step_name: ${t}s)"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIPPED: $* (no container runtime can start here; the image is not tested)"
  exit 77
}
# debootstrap, writing into its root filesystem and rootful podman need root.
if [[ $(id -u) -ne 0 ]]; then
  exec sudo --preserve-env=EBSP_BUILD_DIR,EBSP_PYTHON_GEN_DIR,EBSP_IMAGE,EBSP_IMAGE_CACHE,EBSP_IMAGE_MAX_MB \
    bash "$0" "$@"
fi

# ---------------------------------------------------------------------------
step tools
need=()
for p in podman buildah debootstrap runc; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] ||
    need+=("$p")
done
if ((${#need[@]})); then
  echo "   installing ${need[*]}"
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
podman_cmd=(podman)
echo "   $("${podman_cmd[@]}" --version), runc $(runc --version | awk 'NR==1 {print $3}')"
if ! info_err=$("${podman_cmd[@]}" info 2>&1 >/dev/null); then
  skip "podman info failed: $info_err"
fi
step_done

# ---------------------------------------------------------------------------
# The Debian mirror apt uses here (deb822 .sources or one-line .list files):
# the URI serving <suite>, e.g. bookworm or bookworm-security.
apt_uri_for_suite() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v s="$suite" '$1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # Paragraphs separated by blank lines; Types must include deb.
    awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" } {
        uri = ""; types = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          if ($i ~ /^URIs:/) { split($i, u, " "); uri = u[2] }
          if ($i ~ /^Suites:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == s) hit = 1 }
          if ($i ~ /^Enabled: *no/) hit = 0
        }
        if (hit && types ~ /(^|[ :])deb( |$)/ && uri != "") { print uri; exit } }' "$f"
  done | head -n 1
}

step bases
suite=bookworm
mirror=$(apt_uri_for_suite "$suite")
[[ -n $mirror ]] || fail "no apt source for $suite in /etc/apt (sources.list, sources.list.d)"
security_mirror=$(apt_uri_for_suite "$suite-security")
echo "   mirror $mirror (security: ${security_mirror:-none})"
# An apt proxy applies to debootstrap too.
proxy=$(apt-config shell p Acquire::http::Proxy | sed -n "s/^p='\(.*\)'$/\1/p")
[[ -z $proxy ]] || export http_proxy=$proxy

# The base images the Dockerfile names, e.g. debian:12.11 and debian:12.11-slim.
mapfile -t bases < <(awk 'toupper($1) == "FROM" { print $2 }' "$root/Dockerfile")
((${#bases[@]})) || fail "no FROM line in $root/Dockerfile"
mkdir -p "$cache_dir"

# The official images' apt settings (debuerreotype): no package caches, no
# translations, compressed indexes; the slim one also drops docs, man pages
# and locales through dpkg path excludes.
write_official_settings() {  # write_official_settings ROOTFS SLIM(0|1)
  local r=$1
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' \
    >"$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' >"$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  {
    echo "Types: deb"
    echo "URIs: $mirror"
    echo "Suites: $suite $suite-updates"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [[ -n $security_mirror ]]; then
      echo
      echo "Types: deb"
      echo "URIs: $security_mirror"
      echo "Suites: $suite-security"
      echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$r/etc/apt/sources.list.d/debian.sources"
  rm -f "$r/etc/apt/sources.list"
  if [[ $2 == 1 ]]; then
    cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$r"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  fi
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
    "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/tmp/*
}

# One debootstrap serves both variants (about a minute); each variant is a
# tarball keyed by what it is made from, so the next run only imports it or
# finds it already imported.
debootstrapped=""
debootstrap_once() {
  [[ -z $debootstrapped ]] || return 0
  debootstrapped=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  echo "   debootstrap --variant=minbase $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$debootstrapped" "$mirror" \
    >"$debootstrapped.log" 2>&1 || {
    tail -n 20 "$debootstrapped.log" >&2
    fail "debootstrap failed (log: $debootstrapped.log)"
  }
  echo "   Debian $(cat "$debootstrapped/etc/debian_version") (the FROM lines name" \
    "${bases[*]}; the mirror decides the point release)"
}
for base in "${bases[@]}"; do
  [[ $base == debian:* ]] || fail "base image $base: only debian:<version>[-slim] can be made here"
  slim=0
  [[ $base == *-slim ]] && slim=1
  key=$(printf '%s\n' "$recipe_version" "$suite" "$mirror" "$security_mirror" "$slim" |
    sha256sum | cut -c1-16)
  tarball=$cache_dir/$suite-$([[ $slim == 1 ]] && echo slim || echo full)-$key.tar
  # podman resolves the FROM line's short name to docker.io/library/<name>.
  full_name=docker.io/library/$base
  have_key=$("${podman_cmd[@]}" image inspect --format '{{index .Labels "org.elasticbsp.base-key"}}' \
    "$full_name" 2>/dev/null || true)
  fresh=0
  [[ -f $tarball && -n $(find "$tarball" -mtime -"$cache_max_age_days") ]] && fresh=1
  if [[ $fresh == 1 && $have_key == "$key" ]]; then
    echo "   $base: cached (image and $tarball)"
    continue
  fi
  if [[ $fresh == 0 ]]; then
    debootstrap_once
    rootfs=$debootstrapped.$slim
    cp -a "$debootstrapped" "$rootfs"
    write_official_settings "$rootfs" "$slim"
    echo "   $base: $(du -sm "$rootfs" | cut -f1) MB root filesystem"
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  "${podman_cmd[@]}" import -q --change "LABEL org.elasticbsp.base-key=$key" \
    --change 'CMD ["bash"]' "$tarball" "$full_name" >/dev/null
  echo "   $base: imported as $full_name"
done
[[ -z $debootstrapped ]] || rm -rf "$debootstrapped" "$debootstrapped.log"
# Can a container start here at all? If not, nothing below can be tested.
if ! probe_err=$("${podman_cmd[@]}" run --rm "${podman_flags[@]}" --network none \
  "docker.io/library/${bases[-1]}" true 2>&1); then
  skip "a container of ${bases[-1]} does not start: $probe_err"
fi
step_done

# ---------------------------------------------------------------------------
step build
"${podman_cmd[@]}" build --format docker --pull=never "${podman_flags[@]}" \
  -t "$image" -f "$root/Dockerfile" "$root" >"$cache_dir/build.log" 2>&1 || {
  tail -n 40 "$cache_dir/build.log" >&2
  fail "podman build failed (log: $cache_dir/build.log)"
}
cached=$(grep -c '^--> Using cache' "$cache_dir/build.log" || true)
echo "   $cached steps from the layer cache (log: $cache_dir/build.log)"
step_done

# ---------------------------------------------------------------------------
step size
size_bytes=$("${podman_cmd[@]}" image inspect --format '{{.Size}}' "$image")
size_mb=$((size_bytes / 1000000))
echo "   image $image: $size_mb MB ($size_bytes bytes; bound $max_mb MB)"
((size_mb <= max_mb)) || fail "image is $size_mb MB, past the bound of $max_mb MB"
healthcheck=$("${podman_cmd[@]}" image inspect --format '{{json .Config.Healthcheck}}' "$image" 2>/dev/null ||
  "${podman_cmd[@]}" image inspect --format '{{json .HealthCheck}}' "$image")
[[ $healthcheck == *ebsp-healthcheck* ]] || fail "the image has no HEALTHCHECK ($healthcheck)"
step_done

# ---------------------------------------------------------------------------
step run
container=ebsp-image-test-$$
cleanup() { "${podman_cmd[@]}" rm -f "$container" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"${podman_cmd[@]}" run -d --name "$container" "${podman_flags[@]}" \
  --read-only --cap-drop=all --security-opt no-new-privileges \
  -p 127.0.0.1::50051 -p 127.0.0.1::9464 "$image" >/dev/null 2>"$cache_dir/run.err" || {
  cat "$cache_dir/run.err" >&2
  fail "podman run failed"
}
grpc_addr=$("${podman_cmd[@]}" port "$container" 50051/tcp | head -n 1)
metrics_addr=$("${podman_cmd[@]}" port "$container" 9464/tcp | head -n 1)
echo "   container $container: gRPC at $grpc_addr, /metrics at $metrics_addr"
fetch_metrics() {
  /usr/bin/python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://$metrics_addr/metrics"
}
# Ready: /metrics answers (bounded: 30 s).
ready=0
for _ in $(seq 1 60); do
  if fetch_metrics >/dev/null 2>&1; then
    ready=1
    break
  fi
  [[ $("${podman_cmd[@]}" inspect --format '{{.State.Running}}' "$container") == true ]] || break
  sleep 0.5
done
if [[ $ready == 0 ]]; then
  "${podman_cmd[@]}" logs "$container" >&2 || true
  fail "the container did not serve /metrics within 30 s"
fi
step_done

# ---------------------------------------------------------------------------
step checks
status=$("${podman_cmd[@]}" exec "$container" cat /proc/1/status)
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' <<<"$status")
gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' <<<"$status")
[[ $uids == "10001 10001 10001 10001" ]] || fail "coordinator uids are $uids, expected 10001"
[[ $gids == "10001 10001 10001 10001" ]] || fail "coordinator gids are $gids, expected 10001"
names=$("${podman_cmd[@]}" exec "$container" id)
[[ $names == "uid=10001(ebsp) gid=10001(ebsp) groups=10001(ebsp)" ]] ||
  fail "id in the container says '$names', expected user and group ebsp with id 10001"
echo "   ok: runs as $names"
capeff=$(awk '/^CapEff:/ { print $2 }' <<<"$status")
[[ $capeff =~ ^0+$ ]] || fail "effective capabilities are $capeff, expected none"
echo "   ok: no effective capabilities (CapEff $capeff)"
if "${podman_cmd[@]}" exec "$container" touch /usr/local/bin/x 2>/dev/null; then
  fail "the root filesystem is writable"
fi
echo "   ok: root filesystem read-only"
series=$(fetch_metrics | grep -c '^ebsp_') || true
((series > 0)) || fail "/metrics serves no ebsp_ series"
echo "   ok: /metrics serves $series ebsp_ samples"
health=$("${podman_cmd[@]}" healthcheck run "$container" 2>&1) ||
  fail "the health check failed: $health"
health=$("${podman_cmd[@]}" inspect --format '{{.State.Health.Status}}' "$container")
[[ $health == healthy ]] || fail "the container's health is '$health' after a passing check"
echo "   ok: the image's HEALTHCHECK passes (status $health)"
if [[ ! -d $python_gen_dir/elasticbsp ]]; then
  echo "   building the Python stubs into $build_dir"
  BUILD_DIR=$build_dir "$root/scripts/build.sh" ebsp_proto_python >/dev/null
  python_gen_dir=$build_dir/protos/python
fi
PYTHONPATH=$root/clients/python:$python_gen_dir timeout 120 \
  /usr/bin/python3 "$root/deploy/docker/client_smoke.py" "$grpc_addr" image-smoke |
  sed 's/^/   /'
[[ ${PIPESTATUS[0]} == 0 ]] || fail "the client job against the container failed"
rounds=$(fetch_metrics | awk '/^ebsp_job_rounds_total\{.*training_job="image-smoke"/ { print $NF }')
[[ -n $rounds && ${rounds%.*} -ge 4 ]] ||
  fail "ebsp_job_rounds_total of the client job is '${rounds}', expected >= 4"
echo "   ok: the client job's rounds show in /metrics (ebsp_job_rounds_total $rounds)"
step_done

# ---------------------------------------------------------------------------
step sigterm
t0=$(date +%s.%N)
"${podman_cmd[@]}" kill --signal TERM "$container" >/dev/null
# The podman CLI itself takes a while on a busy machine, so the bound is on
# when the container exited (State.FinishedAt); the wait is bounded too.
exit_code=$(timeout 30 "${podman_cmd[@]}" wait "$container") ||
  fail "the coordinator did not stop within 30 s of SIGTERM"
waited_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
finished=$("${podman_cmd[@]}" inspect --format '{{.State.FinishedAt}}' "$container")
stop_s=$(awk -v a="$t0" -v b="$(date -d "${finished% UTC}" +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[[ $exit_code == 0 ]] || fail "the coordinator exited with code $exit_code on SIGTERM"
awk -v s="$stop_s" 'BEGIN { exit !(s < 5) }' ||
  fail "the coordinator exited ${stop_s}s after SIGTERM, not within 5 s"
echo "   ok: SIGTERM -> exit code 0 after ${stop_s}s (podman wait returned after ${waited_s}s)"
step_done

total=$(awk -v a="$script_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "== summary: image $image $size_mb MB (bound $max_mb MB), all checks passed"
printf '   %s\n' "${timings[@]}"
echo "   total    ${total}s"
