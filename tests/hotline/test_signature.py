"""Signature URLs: the known-good vector, and the public URL rebuilt behind a proxy."""

from __future__ import annotations

from pathlib import Path

from twilio.request_validator import RequestValidator

from hotline import create_app
from hotline.voice.signature import public_url, signature_valid

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_known_good_vector() -> None:
    assert (
        RequestValidator("12345").compute_signature(VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE
    )


def proxied_app(tmp_path: Path, settings: object) -> object:
    return create_app(
        {
            "env": "test",
            "instance_path": tmp_path,
            "database_url": f"sqlite:///{tmp_path / 'x.db'}",
            "twilio_account_sid": "AC" + "1" * 32,
            "twilio_auth_token": "12345",
            "public_base_url": "https://mycompany.com",
        }
    )


def test_vector_validates_behind_a_proxy(tmp_path: Path) -> None:
    app = proxied_app(tmp_path, None)
    with app.test_request_context(  # type: ignore[attr-defined]
        "/myapp.php?foo=1&bar=2",
        base_url="http://10.0.0.7:8000",
        method="POST",
        data=VECTOR_PARAMS,
        headers={"X-Twilio-Signature": VECTOR_SIGNATURE},
    ):
        assert public_url() == VECTOR_URL
        assert signature_valid()


def test_percent_encoded_query_is_signed_as_sent(tmp_path: Path) -> None:
    app = proxied_app(tmp_path, None)
    url = "https://mycompany.com/voice/step?node=a&name=%E5%BC%A0%27"
    signature = RequestValidator("12345").compute_signature(url, VECTOR_PARAMS)
    with app.test_request_context(  # type: ignore[attr-defined]
        "/voice/step?node=a&name=%E5%BC%A0%27",
        base_url="http://internal",
        method="POST",
        data=VECTOR_PARAMS,
        headers={"X-Twilio-Signature": signature},
    ):
        assert public_url() == url
        assert signature_valid()
