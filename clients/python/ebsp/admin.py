"""AdminClient: job management calls (create, inspect, change policy, delete).

Workers never need it (Register can create a job); operators, tests and the
examples use it to create a job with an exact policy or to read a job's
rounds, members and idle fraction.
"""

import uuid
from typing import List, Optional

import grpc

from ebsp._channel import TlsOptions
from ebsp._connection import Connection
from ebsp._stubs import pb
from ebsp.client import DEFAULT_CALL_TIMEOUT_SECONDS
from ebsp.errors import CoordinatorError
from ebsp.policy import PolicyLike, to_policy
from ebsp.retry import RetryPolicy, call_with_retry

ADMIN_OUTAGE_BUDGET_SECONDS = 30.0


class AdminClient:
    """Thread-safe: every method is one RPC (retried on UNAVAILABLE and CANCELLED)."""

    def __init__(self, target: str, call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
                 retry: Optional[RetryPolicy] = None, tls: Optional[TlsOptions] = None,
                 token: Optional[str] = None):
        """``token``: the admin token, or a job's own token to administer that
        job; sent as ``authorization: Bearer <token>`` (docs/security.md)."""
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        # Follows a standby's leader hint (the metadata goes with every call).
        self._conn = Connection(target, tls)
        self._call_timeout = call_timeout
        # An operator's call waits less than a worker for a coordinator that
        # is away.
        self._retry = retry or RetryPolicy(outage_budget_seconds=ADMIN_OUTAGE_BUDGET_SECONDS)

    def _call(self, method: str, request):
        def once():
            return getattr(self._conn.stub, method)(request, timeout=self._call_timeout,
                                                    metadata=self._metadata)

        try:
            return call_with_retry(once, self._retry, method=method,
                                   timeout=self._call_timeout, connection=self._conn)
        except grpc.RpcError as err:
            raise CoordinatorError.from_rpc_error(method, err) from None

    def create_job(self, job: str, policy: PolicyLike = None,
                   heartbeat_timeout_seconds: float = 0.0, max_workers: int = 0,
                   auth_token: str = "") -> "pb.Job":
        spec = pb.JobSpec(job=job, policy=to_policy(policy),
                          heartbeat_timeout_seconds=heartbeat_timeout_seconds,
                          max_workers=max_workers, auth_token=auth_token)
        # One request id for the call, the same on each retry: a retry whose
        # original was applied gets the job, not ALREADY_EXISTS.
        return self._call("CreateJob", pb.CreateJobRequest(spec=spec, request_id=uuid.uuid4().hex))

    def get_job(self, job: str) -> "pb.Job":
        return self._call("GetJob", pb.GetJobRequest(job=job))

    def list_jobs(self) -> List["pb.Job"]:
        return list(self._call("ListJobs", pb.ListJobsRequest()).jobs)

    def update_policy(self, job: str, policy: PolicyLike) -> "pb.Job":
        return self._call("UpdatePolicy",
                          pb.UpdatePolicyRequest(job=job, policy=to_policy(policy)))

    def delete_job(self, job: str) -> None:
        self._call("DeleteJob", pb.DeleteJobRequest(job=job))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "AdminClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
