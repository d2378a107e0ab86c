"""Client certificates (mTLS) for the aiohttp sender: an ``ssl.SSLContext`` per certificate.

``SSLContext.load_cert_chain`` reads files only, so the PEM is written to a file of a fresh private
directory (0700, the file 0600), loaded, and removed at once; the context, kept per certificate, holds the
key from then on. (libcurl takes the PEM from memory: ``curl_loop.Transfer``.)
"""

from __future__ import annotations

import functools
import os
import ssl
import tempfile

_CACHED = 1024


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


@functools.lru_cache(maxsize=_CACHED)
def context(certificate: str, private_key: str, ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context (the system's CAs, or ``ca_file``'s) presenting this certificate."""
    tls = ssl.create_default_context(cafile=ca_file)
    with tempfile.TemporaryDirectory(prefix="hookline-mtls-") as directory:
        path = os.path.join(directory, "client.pem")
        _write_private(path, certificate.rstrip("\n") + "\n" + private_key)
        tls.load_cert_chain(path)
    return tls


@functools.lru_cache(maxsize=16)
def verifying(ca_file: str) -> ssl.SSLContext:
    """A verifying context trusting ``ca_file``'s CAs instead of the system's."""
    return ssl.create_default_context(cafile=ca_file)
