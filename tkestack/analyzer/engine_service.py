"""The engine side of the protocol: the minimal ``pulumirpc.Engine`` service a policy pack
dials back to (``Log``, ``GetRootResource``, ``SetRootResource``, ``StartDebugging``,
``RequirePulumiVersion``), served on ``127.0.0.1:0``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from .codec import GRPC_OPTIONS
from .model import LogEntry, PolicyPackError

_LOG_SEVERITIES = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """What the Pulumi host server offers plugins: logging and root-resource state."""

    def __init__(self, sink: Callable[[LogEntry], None]) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._root_urn = ""

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> Any:
        self._sink(
            LogEntry(
                source="engine",
                severity=_LOG_SEVERITIES.get(request.severity, "info"),
                message=request.message,
                urn=request.urn or None,
            )
        )
        return empty_pb2.Empty()

    def GetRootResource(
        self, request: engine_pb2.GetRootResourceRequest, context: grpc.ServicerContext
    ) -> Any:
        with self._lock:
            return engine_pb2.GetRootResourceResponse(urn=self._root_urn)

    def SetRootResource(
        self, request: engine_pb2.SetRootResourceRequest, context: grpc.ServicerContext
    ) -> Any:
        with self._lock:
            self._root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()

    def StartDebugging(
        self, request: engine_pb2.StartDebuggingRequest, context: grpc.ServicerContext
    ) -> Any:
        # The engine answers "debugging is not enabled" when no debug context is attached.
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, "debugging is not enabled")

    def RequirePulumiVersion(
        self, request: engine_pb2.RequirePulumiVersionRequest, context: grpc.ServicerContext
    ) -> Any:
        return engine_pb2.RequirePulumiVersionResponse()


class EngineServer:
    """The engine service on a free local port; ``address`` is what the pack is given."""

    def __init__(self, sink: Callable[[LogEntry], None]) -> None:
        self._executor = futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="tkestack-engine"
        )
        server = grpc.server(self._executor, options=GRPC_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(sink), server)
        port = server.add_insecure_port("127.0.0.1:0")
        if port == 0:
            self._executor.shutdown(wait=False)
            raise PolicyPackError("could not bind the engine gRPC server on 127.0.0.1")
        server.start()
        self._server = server
        self.address = f"127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop serving and release the service's threads."""
        self._server.stop(grace=None).wait(timeout=5)
        self._executor.shutdown(wait=True)
