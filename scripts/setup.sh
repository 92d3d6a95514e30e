#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing.
# Idempotent and quiet: a second run checks dpkg and returns in well under a second.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-grpcio python3-protobuf python3-pytest
  python3-venv python3-pip python3-setuptools python3-wheel
  python3-torch python3-sklearn python3-matplotlib python3-numpy
  prometheus yamllint
  clang-format clang-14
  # scripts/fuzz.sh: libFuzzer and the sanitizers runtime of clang-14.
  libclang-rt-14-dev
  # ctest -L image: deploy/docker/build_and_test.sh builds and runs the image.
  podman buildah debootstrap runc
  # ctest -L ha: a real etcd for leader election.
  etcd-server etcd-client
)
# Debian's kubernetes-client conflicts with other kubectl packages; any kubectl
# with the built-in `kustomize` subcommand serves the deploy tests.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
# buf (proto lint and breaking-change check) ships on npm only.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done"
fi

# buf from npm into a project-local folder (never global): scripts/check_proto_api.sh.
buf_version=1.75.0
tools_dir=${EBSP_TOOLS_DIR:-$root/.cache/tools}
if [[ "$("$tools_dir/node_modules/.bin/buf" --version 2>/dev/null)" != "$buf_version" ]]; then
  echo "setup: installing @bufbuild/buf@$buf_version from npm into $tools_dir"
  mkdir -p "$tools_dir"
  npm install --prefix "$tools_dir" --no-audit --no-fund --loglevel=error \
    "@bufbuild/buf@$buf_version" >/dev/null
fi
