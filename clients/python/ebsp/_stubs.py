"""Loads the generated gRPC stubs of the v1 API (elasticbsp.v1).

The stubs are generated from protos/ and never committed: by
`pip install clients/python` (setup.py, installed next to this package) or,
in the source tree, by the CMake target ``ebsp_proto_python`` into
``<build>/protos/python``.
"""

try:
    from elasticbsp.v1 import coordinator_pb2 as pb
    from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc
except ImportError as err:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "ebsp: cannot import the generated stubs 'elasticbsp.v1.coordinator_pb2' "
        f"({err}). Install the package (`pip install <repo>/clients/python`) or, from the "
        "source tree, build them with `cmake --build <build> --target ebsp_proto_python` "
        "and set PYTHONPATH=<repo>/clients/python:<build>/protos/python"
    ) from err

__all__ = ["pb", "pb_grpc"]
