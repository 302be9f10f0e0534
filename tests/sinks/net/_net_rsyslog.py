"""A real rsyslogd for the syslog sink's tests: its own config in a temporary folder, listening on a free
loopback port (imtcp, plain or TLS through the gtls driver with a certificate the test makes), writing each
message it receives as one line of a file.

Each line of ``received.log`` is ``MSGID<TAB>STRUCTURED-DATA<TAB>HOSTNAME<TAB>APP-NAME<TAB>TIMESTAMP<TAB>
PRI<TAB>MSG``, MSG escaped as a JSON string (so a line break inside it does not split the record) and
decoded by `lines()`; control characters are not escaped on receive, so MSG is what was sent.
`stop()` is a SIGTERM, after which rsyslog writes out what it has queued: read `lines()` after it for a
complete picture.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


@dataclass(frozen=True)
class Received:
    msgid: str
    structured_data: str
    hostname: str
    app_name: str
    timestamp: str
    pri: int
    msg: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Rsyslog:
    def __init__(self, folder: Path, *, tls: Any = None, max_message_size: str = "256k") -> None:
        """`tls`: a `trustme.CA` whose certificate for 127.0.0.1 rsyslog presents (anonymous clients)."""
        if not os.path.exists(RSYSLOGD):
            raise RuntimeError("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls (.ci/run does)")
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.output = folder / "received.log"
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        tls_globals = tls_module = ""
        if tls is not None:
            cert = tls.issue_cert("127.0.0.1", "localhost")
            tls.cert_pem.write_to_path(str(folder / "ca.pem"))
            cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
            cert.private_key_pem.write_to_path(str(folder / "key.pem"))
            tls_globals = (f'defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{folder}/ca.pem" '
                           f'defaultNetstreamDriverCertFile="{folder}/cert.pem" '
                           f'defaultNetstreamDriverKeyFile="{folder}/key.pem"')
            tls_module = 'streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"'
        (folder / "rsyslog.conf").write_text(f"""
global(workDirectory="{folder}" maxMessageSize="{max_message_size}"
       parser.escapeControlCharactersOnReceive="off" {tls_globals})
module(load="imtcp" {tls_module})
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="audit")
template(name="fields" type="string"
         string="%msgid%\\t%structured-data%\\t%hostname%\\t%app-name%\\t%timereported:::date-rfc3339%\\t%pri%\\t%msg:::json%\\n")
ruleset(name="audit") {{
  action(type="omfile" file="{self.output}" template="fields" asyncWriting="off")
}}
""")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Rsyslog:
        if self.running:
            return self
        log = open(self.folder / "rsyslogd.stderr", "ab")  # noqa: SIM115 - handed to the child
        self._process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.folder / "rsyslog.conf"), "-i", str(self.folder / "rsyslogd.pid")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"rsyslogd exited at start: {self.stderr()[-500:]}")
            if self._listening():
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"rsyslogd did not listen on 127.0.0.1:{self.port} within {_START_TIMEOUT_S}s")

    def _listening(self) -> bool:
        # Read the kernel's table rather than connect: a probe connection would be a session in rsyslog.
        port = f":{self.port:04X} "
        with contextlib.suppress(OSError), open("/proc/net/tcp") as table:
            return any(port in line and line.split()[3] == "0A" for line in table)
        return False

    def stop(self) -> None:
        """SIGTERM: rsyslog closes its inputs and writes out its queue before it exits."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)

    def stderr(self) -> str:
        path = self.folder / "rsyslogd.stderr"
        return path.read_text(errors="replace") if path.exists() else ""

    def lines(self) -> list[Received]:
        if not self.output.exists():
            return []
        received = []
        for line in self.output.read_bytes().decode("utf-8").split("\n"):
            if line:
                msgid, sd, hostname, app, stamp, pri, msg = line.split("\t", 6)
                received.append(Received(msgid, sd, hostname, app, stamp, int(pri), json.loads(f'"{msg}"')))
        return received

    def __enter__(self) -> Rsyslog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
