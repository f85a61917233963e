"""Tell a bot wall (a challenge page from an anti-bot service) from an ordinary refusal."""

from __future__ import annotations

from collections.abc import Mapping

# Markers of challenge pages, by the service that serves them.
_MARKERS = (
    (b"cf-chl-", "Cloudflare"),
    (b"challenge-platform", "Cloudflare"),
    (b"<title>Just a moment...</title>", "Cloudflare"),
    (b"Attention Required! | Cloudflare", "Cloudflare"),
    (b"ddos-guard", "DDoS-Guard"),
    (b"px-captcha", "PerimeterX"),
    (b"_Incapsula_Resource", "Imperva"),
    (b"captcha-delivery.com", "DataDome"),
    (b"Checking your browser before accessing", "a browser check"),
    (b"g-recaptcha", "a CAPTCHA"),
    (b"h-captcha", "a CAPTCHA"),
    (b"/_Incapsula_", "Imperva"),
)


def bot_wall(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """Return the service behind a challenge page, or None for any other response."""
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "Cloudflare"
    if status not in (200, 403, 429, 503):
        return None
    head = body[:65536]
    lowered = head.lower()
    for marker, service in _MARKERS:
        if marker.lower() in lowered:
            return service
    return None
