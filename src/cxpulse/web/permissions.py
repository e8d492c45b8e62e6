"""Who may do what: one matrix of roles and permissions, enforced by ``access.require``.

API keys act as an analyst limited to their scope: a ``read`` key holds the analyst's read
permissions, a ``write`` key all of the analyst's permissions. No key manages users or keys,
so a leaked key can never mint another one. docs/api.md shows the same table.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    SURVEYS_READ = "surveys:read"
    METRICS_READ = "metrics:read"
    RESPONSES_READ = "responses:read"
    RESPONSES_SUBMIT = "responses:submit"
    CONTACTS_READ = "contacts:read"
    SURVEYS_WRITE = "surveys:write"
    RESPONSES_DELETE = "responses:delete"
    CONTACTS_WRITE = "contacts:write"
    EXPORTS = "exports"
    SURVEYS_DELETE = "surveys:delete"
    USERS_MANAGE = "users:manage"
    KEYS_MANAGE = "keys:manage"
    AUDIT_READ = "audit:read"
    OWNERS_MANAGE = "owners:manage"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    RULES_WRITE = "rules:write"
    INTEGRATIONS_MANAGE = "integrations:manage"
    PRIVACY_MANAGE = "privacy:manage"


P = Permission

_VIEWER = frozenset({P.SURVEYS_READ, P.METRICS_READ})
# Agents work the follow-up cases; analysts also write the rules that open them; admins
# connect other systems (webhooks in and out, SMS) and answer privacy requests.
_AGENT = _VIEWER | {
    P.RESPONSES_READ,
    P.RESPONSES_SUBMIT,
    P.CONTACTS_READ,
    P.CASES_READ,
    P.CASES_WRITE,
}
_ANALYST = _AGENT | {
    P.SURVEYS_WRITE,
    P.RESPONSES_DELETE,
    P.CONTACTS_WRITE,
    P.EXPORTS,
    P.RULES_WRITE,
}
_ADMIN = _ANALYST | {
    P.SURVEYS_DELETE,
    P.USERS_MANAGE,
    P.KEYS_MANAGE,
    P.AUDIT_READ,
    P.INTEGRATIONS_MANAGE,
    P.PRIVACY_MANAGE,
}
_OWNER = _ADMIN | {P.OWNERS_MANAGE}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": _VIEWER,
    "agent": _AGENT,
    "analyst": _ANALYST,
    "admin": _ADMIN,
    "owner": _OWNER,
}

READ_PERMISSIONS = frozenset(
    {P.SURVEYS_READ, P.METRICS_READ, P.RESPONSES_READ, P.CONTACTS_READ, P.EXPORTS, P.CASES_READ}
)
"""Permissions that change nothing (exports only read)."""

KEY_SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "read": _ANALYST & READ_PERMISSIONS,
    "write": _ANALYST,
}


def role_permissions(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def key_permissions(scope: str) -> frozenset[Permission]:
    return KEY_SCOPE_PERMISSIONS.get(scope, frozenset())
