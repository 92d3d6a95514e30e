"""ebsp: Python client of the ElasticBSP coordinator.

    import ebsp
    with ebsp.Client("127.0.0.1:50051", job="j", worker_name="host:0",
                     policy="ebsp:R=8") as coord:
        ...
        if coord.step_done():
            coord.sync()
            ebsp.torch_helpers.average_model(model)   # or any all-reduce

Install: `pip install <repo>/clients/python` (generates the elasticbsp.v1
stubs from protos/). From the source tree instead:
PYTHONPATH=<repo>/clients/python:<build>/protos/python (CMake target
ebsp_proto_python). PyTorch is optional and only imported by
ebsp.torch_helpers.
"""

from ebsp._version import __version__

from ebsp._channel import TlsOptions
from ebsp.admin import AdminClient
from ebsp.client import Client, SyncResult
from ebsp.errors import CoordinatorError, EbspError, UsageError
from ebsp.policy import format_policy, parse_policy
from ebsp.retry import NO_RETRY, RetryPolicy

__all__ = [
    "__version__",
    "AdminClient",
    "Client",
    "CoordinatorError",
    "EbspError",
    "NO_RETRY",
    "RetryPolicy",
    "SyncResult",
    "TlsOptions",
    "UsageError",
    "format_policy",
    "parse_policy",
]
