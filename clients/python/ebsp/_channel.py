"""The gRPC channel every ebsp client opens, plaintext or TLS.

gRPC's default reconnect backoff starts at 1 s and grows to 120 s; during
that backoff calls fail fast with UNAVAILABLE without even trying, so a
client retrying after a coordinator restart could exhaust its retries while
the channel sits idle. The caps below keep reconnects within our own retry
schedule. grpc.min_reconnect_backoff_ms stays at its default (as in the C++
client's channel.cc): gRPC uses it as the minimum connect timeout, and a small
one cuts off handshakes on a loaded machine ("tcp handshaker shutdown").

Keepalive: the channel pings the coordinator every 10 s, also between calls,
and drops the connection when a ping is not acknowledged within 5 s: a
coordinator that froze (SIGSTOP, a stalled VM) keeps its TCP connections
open, and without pings a call parked on one (a Barrier) would wait for it
forever. The coordinator permits pings every 5 s (service/server.cc). The
client's heartbeat notices a frozen coordinator sooner (ebsp._connection).
"""

import dataclasses
from typing import Optional

import grpc

_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),  # Our RetryPolicy is the only retry layer.
    ("grpc.keepalive_time_ms", 10000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.keepalive_permit_without_calls", 1),
    # gRPC otherwise stops pinging after 2 pings without data: a Barrier that
    # waits for minutes sends none.
    ("grpc.http2.max_pings_without_data", 0),
    # Each channel its own connections: gRPC otherwise shares subchannels
    # between channels to the same address, and a "fresh" channel would reuse
    # the very connection the client abandoned (ebsp._connection).
    ("grpc.use_local_subchannel_pool", 1),
)


@dataclasses.dataclass(frozen=True)
class TlsOptions:
    """TLS to the coordinator (omit for plaintext, local development only).

    ca_file: PEM CA bundle that signed the coordinator's certificate (None:
        the system's roots).
    cert_file, key_file: PEM client certificate chain and key, for a
        coordinator that requires client certificates (mutual TLS).
    server_name: the name the coordinator's certificate must carry when it is
        not the target's host (an IP address, a port-forward).
    """
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    server_name: Optional[str] = None


def _read(what: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ValueError(f"TlsOptions.{what} {path!r} cannot be read: {err.strerror}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"TlsOptions.{what} {path!r} holds no PEM block")
    return data


def channel_credentials(tls: TlsOptions) -> grpc.ChannelCredentials:
    """Reads the files; ValueError naming the one that cannot be read."""
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ValueError("TlsOptions: cert_file and key_file go together (both or neither)")
    root = _read("ca_file", tls.ca_file) if tls.ca_file else None
    cert = _read("cert_file", tls.cert_file) if tls.cert_file else None
    key = _read("key_file", tls.key_file) if tls.key_file else None
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                        certificate_chain=cert)


def target_host(target: str) -> str:
    """The host of a "host:port" target ("[::1]:50051" -> "::1"; a "dns:///"
    scheme is dropped): the name a redirected TLS channel verifies when
    TlsOptions.server_name is unset (ebsp._connection)."""
    rest = target[len("dns:///"):] if target.startswith("dns:///") else target
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if ":" in rest else rest


def open_channel(target: str, tls: Optional[TlsOptions] = None) -> grpc.Channel:
    if not target or ":" not in target:
        raise ValueError(f"coordinator target must be HOST:PORT, got {target!r}")
    if tls is None:
        return grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
    options = _CHANNEL_OPTIONS
    if tls.server_name:
        options += (("grpc.ssl_target_name_override", tls.server_name),)
    return grpc.secure_channel(target, channel_credentials(tls), options=options)
