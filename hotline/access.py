"""Who may call what: `require_roles` on every console page and API endpoint, and the
registry that lists each route with its roles, so a test can walk the whole matrix.

A blueprint's `before_request` says who is calling by setting `g.principal` (the console
from its session cookie, the API from its bearer token); `require_roles` then allows the
view or raises `NotAuthenticated` (401) / `AccessDenied` (403), which each blueprint
renders its own way (a redirect to the login page, a problem document).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, g
from werkzeug.exceptions import Forbidden, Unauthorized

from hotline.users.roles import Role

F = TypeVar("F", bound=Callable[..., Any])

POLICY_ATTR = "__hotline_roles__"
PUBLIC = "public"
_PUBLIC_ENDPOINTS = "hotline.public_endpoints"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Whoever makes the request: a console user or an API token."""

    actor: str  # what the work-order event log records: user:<login> or api:<token name>
    roles: frozenset[str]
    login: str | None = None
    user_id: int | None = None
    handler_id: int | None = None  # a handler user's handlers.id
    display_name: str = ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class NotAuthenticated(Unauthorized):
    description = "log in first"


class AccessDenied(Forbidden):
    description = "your role does not allow this"


def current_principal() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise NotAuthenticated()
    return principal


def require_roles(*roles: Role | str) -> Callable[[F], F]:
    """Allow the view to principals holding at least one of `roles`; the roles are kept on
    the function for `route_policies` (and so for the matrix test)."""
    allowed = frozenset(Role(r) for r in roles)
    if not allowed:
        raise ValueError("require_roles needs at least one role (use @public for none)")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = require_principal()
            if not principal.roles & allowed:
                raise AccessDenied(f"this needs one of the roles: {', '.join(sorted(allowed))}")
            return view(*args, **kwargs)

        setattr(wrapper, POLICY_ATTR, allowed)
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as open to anonymous callers (the login page): a deliberate choice the
    registry can see, rather than a forgotten check."""
    setattr(view, POLICY_ATTR, PUBLIC)
    return view


def mark_public(app: Flask, *endpoints: str) -> None:
    """Mark endpoints whose view functions we do not write (static files, OpenAPI JSON)."""
    app.extensions.setdefault(_PUBLIC_ENDPOINTS, set()).update(endpoints)


@dataclass(frozen=True)
class RoutePolicy:
    rule: str
    method: str
    endpoint: str
    roles: frozenset[Role] | str | None  # None: no policy declared (a bug)
    arguments: tuple[str, ...]


def route_policies(app: Flask, prefixes: Iterable[str]) -> Iterator[RoutePolicy]:
    """Every (rule, method) under `prefixes` with the roles its view declares."""
    prefixes = tuple(prefixes)
    public_endpoints = app.extensions.get(_PUBLIC_ENDPOINTS, set())
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefixes):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            target: Any = view
            view_class = getattr(view, "view_class", None)
            if view_class is not None:  # a MethodView: each method has its own policy
                target = getattr(view_class, method.lower(), None)
            policy = getattr(target, POLICY_ATTR, None)
            if policy is None and rule.endpoint in public_endpoints:
                policy = PUBLIC
            yield RoutePolicy(rule.rule, method, rule.endpoint, policy, tuple(rule.arguments))
