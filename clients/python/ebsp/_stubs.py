"""Loads the generated gRPC stubs of the v1 API (elasticbsp.v1).

The stubs are generated at build time (CMake target ``ebsp_proto_python``)
into ``<build>/protos/python`` and never committed, so a missing import
almost always means that directory is not on ``sys.path``.
"""

try:
    from elasticbsp.v1 import coordinator_pb2 as pb
    from elasticbsp.v1 import coordinator_pb2_grpc as pb_grpc
except ImportError as err:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "ebsp: cannot import the generated stubs 'elasticbsp.v1.coordinator_pb2' "
        f"({err}). Build them with `cmake --build <build> --target ebsp_proto_python` "
        "and put <build>/protos/python on PYTHONPATH, e.g. "
        "PYTHONPATH=<repo>/clients/python:<build>/protos/python"
    ) from err

__all__ = ["pb", "pb_grpc"]
