# The ElasticBSP coordinator image: `docker build -t ebsp-coordinator .` at the
# repository root (deploy/README.md). Two stages: the build stage compiles with
# the project's own scripts/build.sh on the Debian release the project
# develops on; the runtime stage carries only the binaries and the shared
# libraries they load (tests/deploy checks that list against `ldd` of a real
# build). Only BuildKit-free syntax, so no frontend image is pulled.

# ---------------------------------------------------------------------------
FROM debian:12.11 AS build

ARG DEBIAN_FRONTEND=noninteractive
# The compile-time subset of scripts/setup.sh's package list (setup.sh also
# installs torch, prometheus, yamllint... for tests and demos: gigabytes the
# image build does not need). python3: the root CMakeLists.txt requires
# /usr/bin/python3 at configure time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libabsl-dev prometheus-cpp-dev \
      libgtest-dev libgmock-dev libbenchmark-dev \
      python3 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# The same build the project runs everywhere else (README, CI), of only the
# two binaries the image ships: the coordinator and the ebsp-status CLI (for
# `kubectl exec`).
RUN BUILD_DIR=/src/build BUILD_TYPE=RelWithDebInfo scripts/build.sh ebsp-coordinator ebsp-status \
 && mkdir -p /out \
 && objcopy --strip-debug build/service/ebsp-coordinator /out/ebsp-coordinator \
 && objcopy --strip-debug build/tools/status/ebsp-status /out/ebsp-status

# ---------------------------------------------------------------------------
FROM debian:12.11-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
# Exactly the packages providing the shared libraries ebsp-coordinator and
# ebsp-status load (libc6 aside); tests/deploy/test_runtime_libraries.py keeps
# this list honest. The group is made with gid 10001 explicitly (useradd
# --user-group would give it the next system gid, so USER 10001:10001 would
# run with a group that has no name in the image).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 \
      libc-ares2 \
      libcivetweb1 \
      libgcc-s1 \
      libgrpc++1.51 \
      libgrpc29 \
      libprometheus-cpp-core1.0 \
      libprometheus-cpp-pull1.0 \
      libprotobuf32 \
      libre2-9 \
      libssl3 \
      libstdc++6 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ebsp \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin ebsp

COPY --from=build /out/ebsp-coordinator /out/ebsp-status /usr/local/bin/
COPY deploy/docker/healthcheck.sh /usr/local/bin/ebsp-healthcheck

# Numeric so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

# gRPC API (--listen_address) and Prometheus /metrics (--metrics_address).
EXPOSE 50051 9464
ENV EBSP_METRICS_PORT=9464

# Docker has no gRPC health probe and Debian ships no grpc_health_probe, so the
# container health check asks /metrics (served by the same process) whether
# the coordinator is up. Kubernetes uses its native gRPC probe instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/ebsp-healthcheck"]

ENTRYPOINT ["/usr/local/bin/ebsp-coordinator"]
CMD ["--listen_address=0.0.0.0:50051", "--metrics_address=0.0.0.0:9464"]
