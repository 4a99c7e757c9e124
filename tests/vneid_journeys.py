"""What a citizen does with "Đăng nhập bằng VNeID" over real HTTP (issue 15), shared by the e2e
journeys (tests/test_vneid_login_e2e.py) and the attack tests (tests/security/test_vneid_*.py):
an httpx client as the browser, across the gateway and the sandbox's VNeID (its CCCD + PIN
screen)."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.journeys import (
    STRONG_PASSWORD,
    Citizen,
    add_subscriber,
    new_citizen,
    next_otp,
    register,
)

PIN = "246810"


def with_vneid(api: httpx.Client, citizen: Citizen, id_number: str | None = None) -> None:
    """The citizen's VNeID account in the sandbox (level 2, this PIN)."""
    answer = api.post("/api/v1/dev/vneid-citizens", json={
        "id_number": id_number or citizen.id_number, "full_name": citizen.full_name,
        "birth_date": citizen.birth_date, "sex": citizen.sex, "pin": PIN})
    assert answer.status_code == 201, answer.text


def follow(browser: httpx.Client, response: httpx.Response) -> httpx.Response:
    """Redirections as a browser follows them, across the gateway and the sandbox."""
    while response.is_redirect:
        response = browser.get(str(response.url.join(response.headers["location"])))
    return response


def csrf_of(page: httpx.Response, action: str) -> str:
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?name="csrf_token" '
                      r'value="([^"]+)"', page.text, re.S)
    assert found, f"no form posting to {action}"
    return found.group(1)


def at_vneid(browser: httpx.Client) -> httpx.Response:
    """The login page's button, to VNeID's screen."""
    page = browser.get("/dang-nhap")
    assert 'href="/vneid/login"' in page.text and "Đăng nhập bằng VNeID" in page.text
    screen = follow(browser, browser.get("/vneid/login"))
    assert screen.status_code == 200 and "/vneid/authorize" in str(screen.url)
    return screen


def pin_screen(browser: httpx.Client, screen: httpx.Response, cccd: str,
               pin: str = PIN) -> httpx.Response:
    """VNeID's PIN screen answered; its redirection to dvcid's callback, not followed."""
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', screen.text)[1])  # type: ignore[index]
    answer = browser.post(str(screen.url.join(action)),
                          data={"cccd": cccd, "pin": pin, "decision": "login"})
    assert answer.status_code in (302, 303), answer.text
    assert "/vneid/callback?" in answer.headers["location"]
    return answer


def vneid_login(browser: httpx.Client, cccd: str) -> httpx.Response:
    """The whole VNeID journey, to the page dvcid answers with."""
    return follow(browser, pin_screen(browser, at_vneid(browser), cccd))


def prove_by_password(browser: httpx.Client, api: httpx.Client, citizen: Citizen,
                      page: httpx.Response) -> httpx.Response:
    """The link page's "Đăng nhập để liên kết": password + OTP on the login pages; the login
    comes back to the link page."""
    assert 'href="/dang-nhap?tb=vneid-lien-ket"' in page.text
    login_page = browser.get("/dang-nhap?tb=vneid-lien-ket")
    assert "liên kết tài khoản với VNeID" in login_page.text
    typed = browser.post("/dang-nhap", data={
        "csrf_token": csrf_of(login_page, "/dang-nhap"), "tab": "cccd",
        "username": citizen.id_number, "password": STRONG_PASSWORD}, follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == "/dang-nhap/otp"
    otp_page = browser.get("/dang-nhap/otp")
    done = browser.post("/dang-nhap/otp", data={
        "csrf_token": csrf_of(otp_page, "/dang-nhap/otp"), "code": next_otp(api, citizen)},
        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/vneid/lien-ket"
    return browser.get("/vneid/lien-ket")


def me(browser: httpx.Client) -> dict[str, object]:
    answer = browser.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def methods(browser: httpx.Client) -> list[dict[str, object]]:
    answer = browser.get("/api/v1/me/auth-methods")
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    return list(listed["items"] if isinstance(listed, dict) else listed)


def registered(api: httpx.Client) -> Citizen:
    citizen = new_citizen()
    add_subscriber(api, citizen)
    register(api, citizen)
    return citizen
