"""The API over real HTTP on loopback, in this process: Chalice's own local server (the one ``chalice local``
runs, threaded), configured from this process's environment instead of ``.chalice/config.json``. The fuzz tier
and the bench use it (they share the tables this process is configured for); `make load`, the load test and the
end-to-end tier run the shipped ``scripts/run-local.sh`` instead (``tests.support.shipped``).

    running = server.start(port=0)        # a free port
    requests.get(running.url + "/v1/health")
    running.stop()

As its own process (stage ``local``; tables from the environment)::

    GJJ_DDB_ENDPOINT=http://127.0.0.1:PORT GJJ_TABLE_PREFIX=... python -m tests.support.server --port 8040
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass


@dataclass
class Running:
    url: str
    port: int
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
        self._thread.join(timeout=10)


def _local_server(host: str, port: int):
    from chalice import local
    from chalice.config import Config

    from app import app

    class Server(local.ThreadedHTTPServer):
        request_queue_size = 128      # socketserver's default of 5 is too short a backlog for 50 users

    config = Config(chalice_stage="local", user_provided_params={},
                    config_from_disk={"app_name": "gjj", "lambda_timeout": 29, "lambda_memory_size": 1024})
    if not isinstance(app, local.LocalChalice):      # what chalice.local.create_local_server does, once
        local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
        app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(app, config, host, port, server_cls=Server)


def start(host: str = "127.0.0.1", port: int = 0) -> Running:
    """Serve the app on ``host:port`` (0: a free port) from a daemon thread."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the local server listens on loopback only")
    server = _local_server(host, port)
    bound = server.server.server_address[1]
    thread = threading.Thread(target=server.server.serve_forever, name=f"gjj-api-{bound}", daemon=True)
    thread.start()
    return Running(url=f"http://{host}:{bound}", port=bound, _server=server, _thread=thread)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the gjj API (stage local) on loopback")
    parser.add_argument("--port", type=int, default=8040)
    args = parser.parse_args()
    server = _local_server("127.0.0.1", args.port)
    print(f"gjj API on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


if __name__ == "__main__":
    main()
