"""Signing: Twilio's known-good vector and the public URL behind a proxy."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from hotline.sim.signing import internal_url, public_url, sign

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_known_good_vector():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sign("12345", url, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_validates_with_twilio_and_covers_every_param():
    url = "https://example.org/voice/step?node=menu"
    signature = sign("tok", url, VECTOR_PARAMS)
    assert RequestValidator("tok").validate(url, VECTOR_PARAMS, signature)
    assert not RequestValidator("tok").validate(url, {**VECTOR_PARAMS, "X": ""}, signature)
    assert sign("tok", url, None) == sign("tok", url, {})


@pytest.mark.parametrize(
    ("requested", "public_base", "expected"),
    [
        ("http://127.0.0.1:5000/voice/incoming", None, "http://127.0.0.1:5000/voice/incoming"),
        (
            "http://127.0.0.1:5000/voice/step?node=a&name=%E5%BC%A0%27",
            "https://hotline.example.org",
            "https://hotline.example.org/voice/step?node=a&name=%E5%BC%A0%27",
        ),
        (
            "http://10.0.0.5:8080/voice/incoming",
            "https://hotline.example.org:8443/",
            "https://hotline.example.org:8443/voice/incoming",
        ),
        (
            "http://10.0.0.5/voice/incoming",
            "https://example.org/hotline",
            "https://example.org/hotline/voice/incoming",
        ),
    ],
)
def test_public_url_replaces_origin_and_keeps_path_and_query_as_sent(
    requested, public_base, expected
):
    assert public_url(requested, public_base) == expected
    base = requested.split("/voice", 1)[0]
    assert internal_url(expected, base, public_base) == requested


def test_urls_outside_the_public_base_are_requested_as_they_are():
    assert (
        internal_url("http://elsewhere/x", "http://127.0.0.1:5000", "https://hotline.example.org")
        == "http://elsewhere/x"
    )
    assert (
        internal_url(
            "https://hotline.example.orgx/x", "http://127.0.0.1:5000", "https://hotline.example.org"
        )
        == "https://hotline.example.orgx/x"
    )


def test_public_base_must_be_absolute():
    with pytest.raises(ValueError, match="absolute"):
        public_url("http://127.0.0.1/voice", "hotline.example.org")
