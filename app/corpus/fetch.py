"""Fetch a web page or a feed with a real HTTP client, within limits.

Every failure is a ``FetchError`` naming the URL and the reason in words a user can act
on (the host does not resolve, HTTP 404, timed out after 10 s, larger than 5 MB, not an
HTML page); the caller records it and goes on with the next URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.config import Settings
from app.errors import CorpusError

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml")


class FetchError(CorpusError):
    """A URL that could not be fetched or is not what was asked for."""


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    content_type: str
    body: bytes
    encoding: str | None

    def text(self) -> str:
        """The body as text: by the charset the server declared, else UTF-8, else Windows-1252."""
        for encoding in (self.encoding, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("cp1252", errors="replace")


def check_url(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host; else FetchError."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url or "(empty URL)", "only http:// and https:// URLs can be fetched")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host name")
    return url


class Fetcher:
    """One HTTP client with the settings' timeout, size cap and redirect limit."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None):
        self.timeout_s = settings.fetch_timeout_s
        self.max_bytes = int(settings.fetch_max_mb * 1_000_000)
        self.max_redirects = settings.fetch_max_redirects
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            follow_redirects=True,
            max_redirects=self.max_redirects,
            headers={"User-Agent": settings.fetch_user_agent, "Accept": ", ".join(HTML_TYPES + FEED_TYPES)},
            transport=transport,
            trust_env=False,  # no proxy from the environment: the admin names the URLs
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def page(self, url: str) -> Fetched:
        """An HTML page."""
        return self._get(url, HTML_TYPES, "an HTML page")

    def feed(self, url: str) -> Fetched:
        """An RSS or Atom document."""
        return self._get(url, FEED_TYPES, "an RSS or Atom feed")

    def _get(self, url: str, accepted: tuple[str, ...], kind: str) -> Fetched:
        url = check_url(url)
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    phrase = response.reason_phrase or ""
                    raise FetchError(url, f"the server answered HTTP {response.status_code} {phrase}".rstrip())
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type not in accepted:
                    raise FetchError(url, f"not {kind}: the server sent {content_type or 'no content type'}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, f"larger than the {self._limit()} limit ({int(declared):,} bytes)")
                body = bytearray()
                for piece in response.iter_bytes():
                    body.extend(piece)
                    if len(body) > self.max_bytes:
                        raise FetchError(url, f"larger than the {self._limit()} limit")
                return Fetched(url, str(response.url), content_type, bytes(body), response.charset_encoding)
        except FetchError:
            raise
        except httpx.TooManyRedirects as exc:
            raise FetchError(url, f"more than {self.max_redirects} redirects") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"no answer within {self.timeout_s:g} s") from exc
        except httpx.ConnectError as exc:
            raise FetchError(url, _connect_reason(url, exc)) from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"the request failed: {exc}") from exc

    def _limit(self) -> str:
        return f"{self.max_bytes / 1_000_000:g} MB"


def _connect_reason(url: str, exc: Exception) -> str:
    text = str(exc)
    host = urlsplit(url).hostname
    if any(s in text for s in ("Name or service not known", "name resolution", "nodename nor servname", "getaddrinfo")):
        return f"the host {host} could not be found (DNS)"
    if "Connection refused" in text:
        return f"the host {host} refused the connection"
    return f"could not connect to {host}: {text}"
