"""A throw-away Virtuoso Open Source (Debian package `virtuoso-opensource`) on loopback ports,
set up as the remote backend needs it: the anonymous SPARQL user may update, Debian's row cap
(ResultSetMaxRows 10000). Used by the tests (tests/conftest.py), benchmarks/bench_remote.py,
and by hand to try the remote backend:

    .venv/bin/python scripts/virtuoso_local.py /tmp/vdb      # prints the settings, Ctrl-C stops

Never for data that matters: the database administrator keeps Virtuoso's default password
(`dba`), which is why every port is bound to 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CheckpointInterval = 0
DirsAllowed = {d}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
ServerThreads = 4
MaxClientConnections = 4
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 600
"""


def executables() -> tuple[str, str] | None:
    """(virtuoso-t, isql) when both are installed (Debian names isql `isql-vt`)."""
    exe, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt") or shutil.which("isql")
    return (exe, isql) if exe and isql else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalVirtuoso:
    proc: subprocess.Popen
    url: str  # the SPARQL endpoint (queries and updates)
    sql_port: int
    folder: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(folder: Path, *, max_rows: int = 10_000, buffers: int = 10_000, timeout: float = 120) -> LocalVirtuoso:
    """Start Virtuoso with a new database in ``folder`` and grant SPARQL_UPDATE to the SPARQL user."""
    found = executables()
    if found is None:
        raise RuntimeError("Virtuoso (virtuoso-t and isql-vt, Debian package virtuoso-opensource) is not installed")
    exe, isql = found
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = _free_port(), _free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(INI.format(d=folder, sql_port=sql_port, http_port=http_port, max_rows=max_rows,
                              buffers=buffers, dirty=buffers * 3 // 4), encoding="utf-8")
    proc = subprocess.Popen([exe, "-f", "-c", str(ini)], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    server = LocalVirtuoso(proc, f"http://127.0.0.1:{http_port}/sparql", sql_port, folder)
    try:
        deadline = time.time() + timeout
        for port in (http_port, sql_port):
            while True:
                if proc.poll() is not None or time.time() > deadline:
                    log = folder / "virtuoso.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RuntimeError(f"Virtuoso did not start on port {port}:\n{tail}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
        subprocess.run([isql, f"127.0.0.1:{sql_port}", "dba", "dba", 'exec=GRANT SPARQL_UPDATE TO "SPARQL";'],
                       check=True, capture_output=True, timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="new database folder")
    ap.add_argument("--max-rows", type=int, default=10_000, help="ResultSetMaxRows (default 10000, Debian's)")
    args = ap.parse_args(argv)
    server = start(args.folder.resolve(), max_rows=args.max_rows)
    print(f'[store]\nbackend = "remote"\nendpoint = "{server.url}"\nupdate_endpoint = "{server.url}"', flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
