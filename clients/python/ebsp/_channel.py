"""The gRPC channel every ebsp client opens.

gRPC's default reconnect backoff starts at 1 s and grows to 120 s; during
that backoff calls fail fast with UNAVAILABLE without even trying, so a
client retrying after a coordinator restart could exhaust its retries while
the channel sits idle. The caps below keep reconnects within our own retry
schedule. grpc.min_reconnect_backoff_ms stays at its default (as in the C++
client's channel.cc): gRPC uses it as the minimum connect timeout, and a small
one cuts off handshakes on a loaded machine ("tcp handshaker shutdown").
"""

import grpc

_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),  # Our RetryPolicy is the only retry layer.
)


def open_channel(target: str) -> grpc.Channel:
    if not target or ":" not in target:
        raise ValueError(f"coordinator target must be HOST:PORT, got {target!r}")
    return grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
