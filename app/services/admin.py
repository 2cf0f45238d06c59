"""Who may add articles: a client on this machine, or anyone with the admin token.

Adding articles writes to the corpus and the index, so it is an admin action. Served on
127.0.0.1 (the default) only this machine can reach the app at all; served elsewhere,
``NEWSRAG_ADMIN_TOKEN`` lets an admin add articles from another machine by sending it as
``Authorization: Bearer <token>`` (API) or typing it in the Corpus tab (UI).
"""

from __future__ import annotations

import hmac

from app.config import Settings

LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' if none)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def admin_refusal(settings: Settings, client_host: str | None, token: str | None) -> str | None:
    """None when the client may add articles; otherwise the message that says why not."""
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return None
    if token and expected:
        return "The admin token is wrong: adding articles is refused."
    if (client_host or "") in LOCAL_CLIENTS:
        return None
    if expected:
        return "Adding articles is an admin action: send the admin token (Authorization: Bearer <token>)."
    return (
        "Adding articles is an admin action, allowed only from the machine the app runs on "
        "(or set NEWSRAG_ADMIN_TOKEN on the server and send it)."
    )
