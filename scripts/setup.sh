#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing.
# Idempotent and quiet: a second run checks dpkg and returns in well under a second.
set -euo pipefail

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
  # ctest -L image: deploy/docker/build_and_test.sh builds and runs the image.
  podman buildah debootstrap runc
)
# Debian's kubernetes-client conflicts with other kubectl packages; any kubectl
# with the built-in `kustomize` subcommand serves the deploy tests.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

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
