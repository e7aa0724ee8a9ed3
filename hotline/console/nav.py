"""The home page's links: each page registers itself with the roles that see it."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.users.roles import Role


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str
    roles: frozenset[Role]
    accesskey: str | None = None  # Alt+key (Alt+Shift+key in Firefox) jumps to the page
    description: str = ""


NAV: list[NavLink] = []


def add_nav(
    label: str,
    endpoint: str,
    *roles: Role | str,
    accesskey: str | None = None,
    description: str = "",
) -> None:
    """List a page on the home page (and in the top bar) of users holding one of `roles`."""
    link = NavLink(label, endpoint, frozenset(Role(r) for r in roles), accesskey, description)
    if link not in NAV:
        NAV.append(link)


def links_for(roles: frozenset[str]) -> list[NavLink]:
    return [link for link in NAV if link.roles & roles]
