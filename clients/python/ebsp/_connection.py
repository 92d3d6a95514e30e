"""The client's link to the coordinator: the current channel and stub, with
the ability to start over on a fresh channel, to follow a standby's leader
hint, and to abandon a channel whose coordinator stopped answering. The same
rules as the C++ client's connection.h.

Why a fresh channel: gRPC keeps a channel whose connection attempts were
refused failing for seconds after the coordinator is back (measured: ~7 s
after a 3 s outage); a new one connects at once. So every attempt nobody
answered is followed by a fresh channel to the configured target.

High availability (docs/ha.md): a standby replica answers UNAVAILABLE with
the trailing metadata ``ebsp-leader: HOST:PORT``; follow_leader() dials that
address, and the channel stays there until an attempt on it goes unanswered
(then the configured target again: a Kubernetes Service routes the new
connection to a live replica). A redirected TLS channel verifies the same
name as the configured one (TlsOptions.server_name, else the configured
target's host): every replica serves under the Service's identity, the hint
came from a replica already verified under it, and the leader's address is
usually a pod IP no certificate names.

The liveness probe: abandon() closes a channel the heartbeat found
unresponsive, which ends every call in flight on it with CANCELLED (retried
on the fresh channel): a frozen coordinator keeps its TCP connection open,
and a Barrier parked on it would otherwise wait for gRPC's keepalive.

Old channels are not closed when replaced by an unanswered attempt or a
redirect (the heartbeat thread may still be using one); they close when the
last reference goes. Thread-safe.
"""

import threading
import time
from typing import Optional, Tuple

import grpc

from ebsp._channel import TlsOptions, open_channel, target_host
from ebsp._stubs import pb_grpc

LEADER_METADATA_KEY = "ebsp-leader"
# Leader hints followed within one attempt before it counts as failed (two
# replicas naming each other cannot loop).
MAX_REDIRECTS_PER_ATTEMPT = 2
_MAX_LEADER_ADDRESS_LENGTH = 300
# What a standby's answer says (the proto's contract), with or without a hint.
NOT_LEADER_MESSAGE = "not the leader"
# The longest backoff after an attempt a standby answered: the election ends
# within the lease TTL, so the client looks again this soon rather than after
# the full exponential backoff (up to 2 s, +50 % jitter). At 2 attempts per
# second per worker a standby answers 1,000 workers with 2,000 cheap
# UNAVAILABLEs per second for the few seconds an election takes.
STANDBY_MAX_BACKOFF_SECONDS = 0.5


def leader_hint(err: grpc.RpcError) -> Optional[str]:
    """The leader a standby's UNAVAILABLE names (``ebsp-leader``), if any."""
    if not hasattr(err, "code") or err.code() != grpc.StatusCode.UNAVAILABLE:
        return None
    trailing = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == LEADER_METADATA_KEY:
            if isinstance(value, bytes):
                value = value.decode(errors="replace")
            if 0 < len(value) <= _MAX_LEADER_ADDRESS_LENGTH and ":" in value:
                return value
    return None


def from_standby(err: grpc.RpcError) -> bool:
    """A replica that is not the leader answered (hint or not)."""
    return (hasattr(err, "code") and err.code() == grpc.StatusCode.UNAVAILABLE
            and hasattr(err, "details") and NOT_LEADER_MESSAGE in (err.details() or ""))


# How long a leader hint naming an address the probe found unresponsive is
# not followed: past a lease TTL (default 5 s), by when a standby names the new
# leader (until the frozen leader's lease ends, a standby still names it).
ABANDONED_QUARANTINE_SECONDS = 10.0


class Connection:
    def __init__(self, target: str, tls: Optional[TlsOptions] = None):
        self._target = target
        self._abandoned: Optional[str] = None
        self._abandoned_at = float("-inf")
        self._tls = tls
        self._lock = threading.Lock()
        self._current = target
        self._number = 1
        self._channel = open_channel(target, tls)
        self._stub = pb_grpc.CoordinatorStub(self._channel)

    @property
    def stub(self):
        with self._lock:
            return self._stub

    def route(self) -> Tuple[object, int]:
        """(stub, number of its channel), for abandon()."""
        with self._lock:
            return self._stub, self._number

    @property
    def current_target(self) -> str:
        with self._lock:
            return self._current

    @property
    def redirected(self) -> bool:
        with self._lock:
            return self._current != self._target

    def follow_leader(self, leader: str) -> bool:
        """Dials ``leader`` unless the current channel goes there already or
        the probe abandoned that address less than
        ABANDONED_QUARANTINE_SECONDS ago; True if the next attempt goes to a
        new address."""
        with self._lock:
            if leader == self._current:
                return False
            if (leader == self._abandoned
                    and time.monotonic() - self._abandoned_at < ABANDONED_QUARANTINE_SECONDS):
                return False
            self._dial_locked(leader)
            return True

    def reconnect(self) -> None:
        """After an attempt nobody served: a fresh channel to the configured
        target (also from a redirected channel)."""
        with self._lock:
            self._dial_locked(self._target)

    def abandon(self, number: int) -> None:
        """The probe found channel ``number`` unresponsive: closes it (its
        calls in flight end with CANCELLED) and dials the configured target.
        Nothing if it was replaced meanwhile."""
        with self._lock:
            if number != self._number:
                return
            old = self._channel
            self._abandoned, self._abandoned_at = self._current, time.monotonic()
            self._dial_locked(self._target)
        old.close()

    def close(self) -> None:
        with self._lock:
            self._channel.close()

    def _dial_locked(self, address: str) -> None:
        tls = self._tls
        if tls is not None and address != self._target and not tls.server_name:
            tls = TlsOptions(ca_file=tls.ca_file, cert_file=tls.cert_file,
                             key_file=tls.key_file, server_name=target_host(self._target))
        self._current = address
        self._channel = open_channel(address, tls)
        self._stub = pb_grpc.CoordinatorStub(self._channel)
        self._number += 1
