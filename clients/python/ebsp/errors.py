"""Errors the ebsp client raises.

A failed RPC becomes a CoordinatorError carrying the gRPC status code and the
coordinator's message (which names the bad value), so callers can branch on
``err.code`` without importing grpc internals. Misuse of the client's own
protocol (sync() before step_done() said so) is a UsageError.
"""

import grpc


class EbspError(Exception):
    """Base class of every error raised by the ebsp package."""


class CoordinatorError(EbspError):
    """An RPC the coordinator (or the channel) answered with a non-OK status."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str):
        super().__init__(f"{method}: {code.name}: {details}")
        self.method = method
        self.code = code
        self.details = details

    @classmethod
    def from_rpc_error(cls, method: str, err: grpc.RpcError) -> "CoordinatorError":
        code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        details = err.details() if hasattr(err, "details") else str(err)
        return cls(method, code, details or "")


class UsageError(EbspError):
    """The caller broke the client's protocol (e.g. sync() without SYNC_NOW)."""
