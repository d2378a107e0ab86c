"""The endpoint-authentication part of the edit-webhook form: what is saved now, and what to save instead.

The secrets (password, client secret, private key) are never put back into a page: a page shows the saved
auth's type and non-secret fields, and a change asks for the whole new auth, secrets included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from hookline.service import targets

KEEP = "keep"
NONE = "none"
FIELDS: dict[str, tuple[str, ...]] = {
    "basic": ("username", "password"),
    "oauth2": ("token_url", "client_id", "client_secret", "scope"),
    "mtls": ("certificate", "private_key"),
}
LABELS = {"basic": "HTTP Basic", "oauth2": "OAuth2 client credentials", "mtls": "Client certificate (mTLS)"}
SECRETS = frozenset({"password", "client_secret", "private_key"})


@dataclass
class AuthForm:
    current: str = "None"  # the saved auth, in words
    choice: str = KEEP
    values: dict[str, str] = field(default_factory=dict)  # the non-secret fields given, shown again

    def value(self, name: str) -> str:
        return "" if name in SECRETS else self.values.get(name, "")


def describe(shown: dict[str, Any] | None) -> str:
    """The saved auth (its public view) in words."""
    if not shown:
        return "None"
    label = LABELS.get(str(shown.get("type")), str(shown.get("type")))
    if shown.get("type") == "basic":
        return f"{label}, username {shown.get('username')}"
    if shown.get("type") == "oauth2":
        return f"{label}, client {shown.get('client_id')} at {shown.get('token_url')}"
    return label


def from_post(form: FormData) -> AuthForm:
    choice = form.get("auth_type")
    names = {name for names in FIELDS.values() for name in names}
    values = {name: str(form.get(f"auth_{name}") or "") for name in names}
    return AuthForm(choice=choice if isinstance(choice, str) else KEEP, values=values)


def wanted(auth: AuthForm) -> object:
    """What to save: ``targets.UNCHANGED``, None (no auth), or the API's auth object (checked by the
    service)."""
    if auth.choice == NONE:
        return None
    if auth.choice not in FIELDS:
        return targets.UNCHANGED
    raw = {name: auth.values.get(name, "") for name in FIELDS[auth.choice]}
    given = {name: text if name in SECRETS else text.strip() for name, text in raw.items()}
    if not given.get("scope"):
        given.pop("scope", None)
    for pem in ("certificate", "private_key"):
        if pem in given:
            text = auth.values.get(pem, "").replace("\r\n", "\n").strip()
            given[pem] = text + "\n" if text else ""
    return {"type": auth.choice, **given}


def errors_of(fields: dict[str, str]) -> dict[str, str]:
    """Service field errors (``auth.password``) under the form's names (``auth_password``)."""
    return {
        ("auth_type" if name == "auth" else name.replace(".", "_")): problem
        for name, problem in fields.items()
    }
