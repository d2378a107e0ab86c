"""A form sent after its session ended (12 hours passed, someone signed out, the key was revoked) is not lost.

The POST cannot be carried out without a session, so the sign-in page is shown instead (401), saying why,
with the form's fields as hidden inputs (``carry:<name>``, the old CSRF token left out). Signing in there
shows the fields once more in a page with the new session's token: one click sends them, as they were
typed, to where they were going; nothing is sent behind the user's back. An operator's form also carries
the merchant its session acted for: signing in again as the operator acts for that merchant once more.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hookline.dashboard import web

PREFIX = "carry:"
MARK = "carried"  # a field of the sign-in form that carries one (which may have no fields but its token)
# The merchant an operator's form was for (the operator may act for any: signing in again acts for it).
FOR = "carried_for"
ENDED = (
    "Your session ended before the form was sent (a session lasts 12 hours, and ends when someone signs "
    "out or its key is revoked). Sign in again: what you entered is kept, and you can send it then."
)
# POSTs not worth carrying: signing out (there is nothing to sign out of).
NOT_CARRIED = ("/sign-out",)


async def posted(request: Request) -> list[tuple[str, str]] | None:
    """The fields of a POST that arrived without a session (None: not a form worth carrying)."""
    path = request.url.path.removeprefix(web.base(request))
    if path in NOT_CARRIED:
        return None
    try:
        form = await request.form(max_files=0, max_fields=2000)
    except Exception:  # not a form (a JSON preview request) or too large: nothing to keep
        return None
    return [(name, value) for name, value in form.multi_items() if name != "csrf" and isinstance(value, str)]


def carried(form: FormData) -> list[tuple[str, str]] | None:
    """The carried fields of the sign-in form, under their own names again; None when it carries none."""
    if form.get(MARK) != "1":
        return None
    return [
        (name.removeprefix(PREFIX), value)
        for name, value in form.multi_items()
        if name.startswith(PREFIX) and isinstance(value, str)
    ]


def resume_page(request: Request, path: str, fields: Iterable[tuple[str, str]], csrf: str) -> Response:
    """After signing in again: the carried form, ready to be sent with the new session's token."""
    return web.page(request, "resume.html", action=web.base(request) + path, fields=list(fields), csrf=csrf)
