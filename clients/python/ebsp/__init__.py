"""ebsp: Python client of the ElasticBSP coordinator.

    import ebsp
    with ebsp.Client("127.0.0.1:50051", job="j", worker_name="host:0",
                     policy="ebsp:R=8") as coord:
        ...
        if coord.step_done():
            coord.sync()
            ebsp.torch_helpers.average_model(model)   # or any all-reduce

Needs the generated stubs on sys.path:
PYTHONPATH=<repo>/clients/python:<build>/protos/python
(CMake target ebsp_proto_python generates them). PyTorch is optional and only
imported by ebsp.torch_helpers.
"""

from ebsp.admin import AdminClient
from ebsp.client import Client, SyncResult
from ebsp.errors import CoordinatorError, EbspError, UsageError
from ebsp.policy import format_policy, parse_policy
from ebsp.retry import NO_RETRY, RetryPolicy

__all__ = [
    "AdminClient",
    "Client",
    "CoordinatorError",
    "EbspError",
    "NO_RETRY",
    "RetryPolicy",
    "SyncResult",
    "UsageError",
    "format_policy",
    "parse_policy",
]
