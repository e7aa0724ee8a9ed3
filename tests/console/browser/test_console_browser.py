"""The console in a real browser: login, a role's home, a handler's accept, CSRF, lockout,
and a live update over SSE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotline.users.roles import Role
from tests.console.browser.conftest import shot
from tests.console.conftest import PASSWORD, ConsoleUser


def log_in(page: Any, login: str, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the keyboard is enough


def test_login_shows_the_roles_home(page: Any, make_user: Callable[..., ConsoleUser]) -> None:
    user = make_user(Role.STAFF, Role.SUPERVISOR)
    log_in(page, user.login)
    assert page.url.endswith("/console/")
    assert page.get_by_role("heading", name="Staff").is_visible()
    assert page.get_by_role("heading", name="Supervisor").is_visible()
    assert page.get_by_role("link", name="Register a letter or visit").first.is_visible()
    assert user.login in page.get_by_test_id("who").inner_text()
    shot(page, "console-home-staff-supervisor")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert "/console/login" in page.url


def test_a_handler_accepts_an_order(
    page: Any, make_user: Callable[..., ConsoleUser], new_order: Callable[..., str]
) -> None:
    handler = make_user(Role.HANDLER)
    number = new_order(handler.handler_code, summary="判决未执行，申请强制执行")
    log_in(page, handler.login)
    page.get_by_role("link", name="My work orders").first.click()
    page.get_by_role("link", name=number).click()
    assert page.get_by_test_id("state").inner_text() == "dispatched"
    shot(page, "console-order-before-accept")
    with page.expect_navigation():
        page.locator("form[data-move=accept] button").click()
    assert page.get_by_test_id("state").inner_text() == "accepted"
    assert f"user:{handler.login}" in page.locator("ol.events").inner_text()
    shot(page, "console-order-accepted")


def test_a_post_without_csrf_token_is_refused(
    page: Any, role_users: dict[str, ConsoleUser], new_order: Callable[..., str]
) -> None:
    number = new_order()
    log_in(page, role_users["supervisor"].login)
    # The browser's own cookies, but no token: what a forged cross-site form would send.
    r = page.request.post(
        f"/console/orders/{number}/move", form={"move": "supervise", "note": "forged"}
    )
    assert r.status == 400 and "Form refused" in r.text()
    page.goto(f"/console/orders/{number}")
    assert "supervised" not in page.locator("h1").inner_text()


def test_lockout_after_failed_logins(page: Any, make_user: Callable[..., ConsoleUser]) -> None:
    user = make_user(Role.AGENT)
    for _ in range(5):
        log_in(page, user.login, "not the password")
        assert page.get_by_test_id("login-error").is_visible()
    log_in(page, user.login)  # the right password, too late
    assert "/console/login" in page.url
    assert "try again later" in page.get_by_test_id("login-error").inner_text()
    shot(page, "console-lockout")


def test_the_handlers_list_updates_live(
    page: Any, make_user: Callable[..., ConsoleUser], new_order: Callable[..., str]
) -> None:
    handler = make_user(Role.HANDLER)
    log_in(page, handler.login)
    page.goto("/console/orders/mine")
    tbody = page.locator("tbody[data-live]")
    tbody.and_(page.locator("[data-live-open='1']")).wait_for()  # the stream is open
    assert "No orders." in tbody.inner_text()
    number = new_order(handler.handler_code)  # dispatched to them by another process
    page.locator(f'tr[data-number="{number}"]').wait_for()
    assert page.url.endswith("/console/orders/mine")  # no reload: the event brought it
    shot(page, "console-live-update")
