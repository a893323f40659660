"""web-download: fetch image data over HTTP(S), refusing addresses the cloud's own hosts live on.

The API and conductor hosts reach the database, the broker and metadata services, so a URL
naming loopback, link-local, private, shared (CGNAT), multicast or reserved addresses is
refused unless ``[image] web_download_allow_private`` says otherwise (SSRF). The name is
resolved once and the connection is made to the checked address (the Host header and TLS
name stay the URL's), so a DNS answer cannot change between check and use; every redirect
is checked again.
"""
import http.client
import ipaddress
import socket
import ssl
import urllib.parse

from django.conf import settings

from apps.core.exceptions import BadRequest

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


class WebDownloadError(BadRequest):
    pass


def _conf():
    return settings.MONOSTACK["image"]


def _allowed_ports():
    raw = _conf()["web_download_allowed_ports"]
    return {int(p) for p in raw.split(",") if p.strip()}


def address_allowed(address):
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_uri(uri):
    """(scheme, host, port, path, [addresses]) of an acceptable URI, else WebDownloadError."""
    try:
        parts = urllib.parse.urlsplit(uri)
        port = parts.port
    except ValueError as e:
        raise WebDownloadError(f"URI for web-download is not valid: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise WebDownloadError("URI for web-download does not pass filtering: scheme must be http or https")
    if not parts.hostname:
        raise WebDownloadError("URI for web-download has no host")
    if parts.username or parts.password:
        raise WebDownloadError("URI for web-download may not carry credentials")
    port = port or (443 if parts.scheme == "https" else 80)
    ports = _allowed_ports()
    if ports and port not in ports:
        raise WebDownloadError(f"URI for web-download does not pass filtering: port {port} is not allowed")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise WebDownloadError(f"Host of the web-download URI cannot be resolved: {e}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not _conf()["web_download_allow_private"]:
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise WebDownloadError("URI for web-download does not pass filtering: "
                                   f"{parts.hostname} resolves to a non-public address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path, addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Download:
    """An open download: ``length`` (None if unknown) and ``chunks(size)``."""

    def __init__(self, connection, response):
        self._connection = connection
        self._response = response
        length = response.getheader("Content-Length")
        self.length = int(length) if length and length.isdigit() else None

    def chunks(self, size):
        while True:
            chunk = self._response.read(size)
            if not chunk:
                return
            yield chunk

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_url(uri, *, timeout=60):
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path, addresses = check_uri(uri)
        cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        last_error = None
        for address in addresses:
            connection = cls(host, port, address, timeout)
            try:
                connection.request("GET", path, headers={"User-Agent": "monostack-image/1.0"})
                response = connection.getresponse()
                break
            except OSError as e:
                connection.close()
                last_error = e
        else:
            raise WebDownloadError(f"web-download could not connect to {host}: {last_error}")
        if response.status in REDIRECTS:
            location = response.getheader("Location")
            connection.close()
            if not location:
                raise WebDownloadError("web-download was redirected nowhere")
            uri = urllib.parse.urljoin(uri, location)
            continue
        if response.status != 200:
            connection.close()
            raise WebDownloadError(f"web-download got HTTP {response.status} from {host}")
        return Download(connection, response)
    raise WebDownloadError("web-download followed too many redirects")
