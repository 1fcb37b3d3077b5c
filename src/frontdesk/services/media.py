"""MMS media checks before a message is accepted (R-S-02).

Carriers drop or truncate MMS beyond their size limits, and the limits differ
(AT&T toll-free and short code 600 KB, Infobip's safe floor 300 KB; rules.md
R-S-02), so the platform holds every MMS to one hard limit: at most
:data:`MAX_MEDIA` files, ``https`` only, each answering ``200`` with a type from
:data:`ALLOWED_TYPES`, and all of them together at most 600 KB. A sender whose
provider cannot carry MMS (an SMPP-only connection) is refused outright rather
than silently sending the text without its picture.

The check asks each URL with ``HEAD`` (falling back to a streamed ``GET`` when
the server refuses ``HEAD`` or gives no ``Content-Length``), follows at most
:data:`MAX_REDIRECTS` redirects and re-checks every hop, and never asks a
private or loopback address: the server fetching user-supplied URLs must not
become a way to probe the internal network. A name that resolves to a private
address is not caught here (the check does not pin DNS); Twilio fetches the
media itself in any case.

This module does I/O through the ``httpx.Client`` it is given and never touches
the database.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from frontdesk.domain.reasons import Reason, ReasonCode

RULE = "R-S-02"
MAX_MEDIA = 10
MAX_TOTAL_BYTES = 600 * 1024
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT = 5.0
# Twilio formats JPEG, PNG and GIF for handsets and passes the rest through;
# this list is the subset carriers deliver reliably to US handsets.
ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "video/mp4",
        "video/3gpp",
        "audio/mpeg",
        "audio/mp4",
        "text/vcard",
        "text/x-vcard",
        "application/pdf",
    }
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class _Probe:
    size: int | None = None
    problem: str | None = None
    bad_type: bool = False


def _display(url: str) -> str:
    """The URL without its query: signed media URLs carry secrets in the query."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url[:200]
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


def _refuse(url: str, why: str, fix: str) -> Reason:
    return Reason(ReasonCode.MEDIA_NOT_ALLOWED, RULE, f"Media {_display(url)} {why}.", fix)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _address_problem(url: str, allow_insecure_loopback: bool) -> str | None:
    """Why this URL may not be fetched, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "is not an https URL"
    if allow_insecure_loopback and _is_loopback(host):
        return None
    if parts.scheme != "https":
        return "is not served over https"
    if host.lower() in _LOOPBACK_NAMES:
        return "points at a private or loopback address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "points at a private or loopback address"
    return None


def _content_type(response: httpx.Response) -> str:
    raw: str = response.headers.get("content-type", "")
    return raw.split(";")[0].strip().lower()


def _length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def _request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    timeout: float,
    allow_insecure_loopback: bool,
    budget: int,
) -> _Probe | httpx.Response:
    """One request following redirects by hand, each hop checked; GET reads at most budget+1."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        problem = _address_problem(current, allow_insecure_loopback)
        if problem:
            return _Probe(problem=f"redirects to a URL that {problem}")
        request = client.build_request(method, current, timeout=timeout)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            if response.is_redirect and "location" in response.headers:
                current = urljoin(current, response.headers["location"])
                continue
            if method == "GET" and response.status_code == 200:
                seen = 0
                for chunk in response.iter_bytes():
                    seen += len(chunk)
                    if seen > budget:
                        break
                return _Probe(size=seen) if _content_type(response) in ALLOWED_TYPES else response
            return response
        finally:
            response.close()
    return _Probe(problem=f"redirects more than {MAX_REDIRECTS} times")


def _probe(
    client: httpx.Client, url: str, *, timeout: float, allow_insecure_loopback: bool, budget: int
) -> _Probe:
    try:
        got = _request(
            client,
            "HEAD",
            url,
            timeout=timeout,
            allow_insecure_loopback=allow_insecure_loopback,
            budget=budget,
        )
        if isinstance(got, httpx.Response) and (
            got.status_code in (405, 501) or (got.status_code == 200 and _length(got) is None)
        ):
            got = _request(
                client,
                "GET",
                url,
                timeout=timeout,
                allow_insecure_loopback=allow_insecure_loopback,
                budget=budget,
            )
    except httpx.TimeoutException:
        return _Probe(problem=f"did not answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return _Probe(problem=f"could not be fetched ({type(exc).__name__})")
    if isinstance(got, _Probe):
        return got
    if got.status_code != 200:
        return _Probe(problem=f"answered HTTP {got.status_code}, not 200")
    kind = _content_type(got)
    if kind not in ALLOWED_TYPES:
        return _Probe(
            problem=f"has type {kind or 'none'!r}, which MMS does not carry reliably",
            bad_type=True,
        )
    size = _length(got)
    if size is None:
        return _Probe(problem="gives no Content-Length")
    return _Probe(size=size)


def check_media(
    urls: Sequence[str],
    *,
    provider_supports_mms: bool,
    client: httpx.Client,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    allow_insecure_loopback: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Reason]:
    """Every reason the media of one message cannot be sent; empty when it can (R-S-02)."""
    if not urls:
        return []
    if not provider_supports_mms:
        return [
            Reason(
                ReasonCode.MEDIA_NOT_ALLOWED,
                RULE,
                "This sender's carrier connection sends SMS only; it cannot carry media.",
                "Remove media_urls, or send from a number on an MMS-capable provider.",
            )
        ]
    if len(urls) > MAX_MEDIA:
        return [
            Reason(
                ReasonCode.MEDIA_NOT_ALLOWED,
                RULE,
                f"The message has {len(urls)} media files; an MMS carries at most {MAX_MEDIA}.",
                f"Attach at most {MAX_MEDIA} files.",
            )
        ]
    reasons: list[Reason] = []
    total = 0
    allowed = ", ".join(sorted(ALLOWED_TYPES))
    for url in urls:
        problem = _address_problem(url, allow_insecure_loopback)
        if problem:
            reasons.append(_refuse(url, problem, "Host the file at a public https:// URL."))
            continue
        probe = _probe(
            client,
            url,
            timeout=timeout,
            allow_insecure_loopback=allow_insecure_loopback,
            budget=max(0, max_total_bytes - total),
        )
        if probe.problem:
            fix = (
                f"Use one of: {allowed}."
                if probe.bad_type
                else "Make the URL publicly reachable over https, answering 200 with a "
                "Content-Length."
            )
            reasons.append(_refuse(url, probe.problem, fix))
            continue
        total += probe.size or 0
    if total > max_total_bytes:
        reasons.append(
            Reason(
                ReasonCode.MEDIA_NOT_ALLOWED,
                RULE,
                f"The media add up to {total // 1024} KB or more; carriers reliably deliver "
                f"at most {max_total_bytes // 1024} KB per MMS.",
                "Compress images to JPEG, shorten video (H.264), or send fewer files.",
            )
        )
    return reasons
