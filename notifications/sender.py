"""One webhook request, bounded in time and size, to the address that was checked.

``requests`` sends it through an adapter that connects to the pinned IP address while TLS still
verifies the certificate for the URL's host name (SNI and hostname check use the name). A
watchdog shuts the socket down when the whole attempt passes the timeout, so a receiver that
trickles its answer a byte at a time cannot hold a worker beyond it. Redirects are not followed
(a 3xx is a failed attempt), and at most ``KEYFENCE_WEBHOOK_MAX_RESPONSE_BYTES`` of the answer
are read before the connection is closed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from .conf import conf
from .urlguard import UrlNotAllowed, check

USER_AGENT = "Keyfence-Webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: an HTTP status, or an error with no status; and how long it took."""

    status_code: int | None
    duration_ms: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class PinnedAdapter(HTTPAdapter):
    """Connect to an IP address, but speak TLS to ``hostname``; remember sockets for the watchdog."""

    def __init__(self, hostname: str, tls: bool) -> None:
        self.hostname, self.tls = hostname, tls
        self.connections: list[Any] = []
        self.aborted = False
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        if self.tls:
            pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool: Any = super().get_connection_with_tls_context(*args, **kwargs)
        if not getattr(pool, "_keyfence_tracked", False):
            new_conn = pool._new_conn

            def tracked() -> Any:
                connection = new_conn()
                self.connections.append(connection)
                return connection

            pool._new_conn = tracked
            pool._keyfence_tracked = True
        return pool

    def abort(self) -> None:
        """Cut every connection this adapter opened: the blocked read in the sending thread fails."""
        self.aborted = True
        for connection in self.connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _pinned_url(url: str, address: str, port: int) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url``; never raises, never takes much longer than the timeout."""
    timeout, started = conf.WEBHOOK_TIMEOUT, time.monotonic()

    def elapsed() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    try:
        hostname, port, addresses = check(url)
    except UrlNotAllowed as exc:
        return Outcome(None, elapsed(), exc.message[:200])
    adapter = PinnedAdapter(hostname, tls=url.lower().startswith("https:"))
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    watchdog = threading.Timer(timeout, adapter.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        response = session.post(
            _pinned_url(url, addresses[0], port),
            data=body,
            headers={**headers, "Host": _host_header(url), "User-Agent": USER_AGENT},
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
        try:
            # The status decides; the body is read a little, so the connection can close cleanly.
            response.raw.read(conf.WEBHOOK_MAX_RESPONSE_BYTES, decode_content=False)
        except Exception:  # noqa: BLE001 - a body cut short (or cut off by the watchdog) changes nothing
            pass
        finally:
            response.close()
        if adapter.aborted and response.status_code // 100 == 2:
            # Cut off by the watchdog: the answer was never complete within the timeout.
            return Outcome(None, elapsed(), f"No complete answer within {timeout:g} s.")
        return Outcome(response.status_code, elapsed())
    except requests.exceptions.SSLError:
        return Outcome(None, elapsed(), "TLS error: the certificate or handshake was refused.")
    except requests.exceptions.Timeout:
        return Outcome(None, elapsed(), f"No answer within {timeout:g} s.")
    except (requests.exceptions.RequestException, OSError) as exc:
        if adapter.aborted:
            return Outcome(None, elapsed(), f"No complete answer within {timeout:g} s.")
        return Outcome(None, elapsed(), f"Connection failed: {type(exc).__name__}.")
    finally:
        watchdog.cancel()
        session.close()
