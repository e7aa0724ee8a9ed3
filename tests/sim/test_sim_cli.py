"""The `sim` click group: exit codes, output and where credentials come from."""

from __future__ import annotations

import sys
import types

import pytest
from click.testing import CliRunner

from hotline.sim.cli import sim
from hotline.sim.recordings import quiet_tone_wav

BYE = "<Response><Say>Goodbye.</Say><Hangup/></Response>"
MENU = (
    '<Response><Gather numDigits="1" action="/voice/step?node=bye">'
    "<Say>Press 1.</Say></Gather></Response>"
)


@pytest.fixture
def runner(monkeypatch, tmp_path):
    for name in (
        "HOTLINE_TWILIO_AUTH_TOKEN",
        "TWILIO_AUTH_TOKEN",
        "HOTLINE_TWILIO_ACCOUNT_SID",
        "TWILIO_ACCOUNT_SID",
        "HOTLINE_PUBLIC_BASE_URL",
        "PUBLIC_BASE_URL",
        "PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path / "no-instance"))
    return CliRunner()


def cred_args(creds):
    return ["--auth-token", creds["auth_token"], "--account-sid", creds["account_sid"]]


def test_call_prints_the_transcript_and_exits_0(app, creds, runner):
    app.scenario = {"incoming": MENU, "bye": BYE}

    result = runner.invoke(
        sim, ["call", "--url", app.base_url, "--from", "+8613800138000", "--digits", "1",
              *cred_args(creds)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "IVR [en-US]: Press 1." in result.output
    assert "caller keys: 1" in result.output
    assert "-> POST /voice/step?node=bye  200" in result.output
    assert "call ended: hangup" in result.output
    assert app.of("/voice/incoming")[0].form["From"] == "+8613800138000"


def test_call_quiet_prints_one_line(app, creds, runner):
    app.scenario = {"incoming": BYE}

    result = runner.invoke(sim, ["call", "--url", app.base_url, "--quiet", *cred_args(creds)])

    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "ok, ended by hangup" in result.output


def test_call_exits_1_and_prints_errors_when_the_app_fails(app, creds, runner):
    app.scenario = {"incoming": ("boom", 500)}

    result = runner.invoke(sim, ["call", "--url", app.base_url, "--quiet", *cred_args(creds)])

    assert result.exit_code == 1
    assert "error: POST /voice/incoming answered HTTP 500" in result.output


def test_call_with_a_wrong_token_exits_1(app, creds, runner):
    app.scenario = {"incoming": BYE}
    args = ["--auth-token", "wrong", "--account-sid", creds["account_sid"]]

    result = runner.invoke(sim, ["call", "--url", app.base_url, *args])

    assert result.exit_code == 1
    assert "HTTP 403" in result.output


def test_credentials_and_url_come_from_the_environment(app, creds, runner, monkeypatch):
    app.scenario = {"incoming": BYE}
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", creds["auth_token"])
    monkeypatch.setenv("HOTLINE_TWILIO_ACCOUNT_SID", creds["account_sid"])
    monkeypatch.setenv("PORT", app.base_url.rsplit(":", 1)[1])

    result = runner.invoke(sim, ["call", "--quiet"])

    assert result.exit_code == 0, result.output


def test_public_base_url_comes_from_the_environment(app, creds, runner, monkeypatch):
    app.public_base_url = "https://hotline.example.org"
    app.scenario = {"incoming": BYE}
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hotline.example.org")

    result = runner.invoke(sim, ["call", "--url", app.base_url, "--quiet", *cred_args(creds)])

    assert result.exit_code == 0, result.output


def test_without_options_or_env_the_apps_local_credentials_are_used(
    app, creds, runner, monkeypatch, tmp_path
):
    app.scenario = {"incoming": BYE}
    asked = []

    def local_twilio_credentials(instance_path):
        asked.append(str(instance_path))
        return creds["account_sid"], creds["auth_token"]

    config = types.ModuleType("hotline.config")
    config.local_twilio_credentials = local_twilio_credentials
    monkeypatch.setitem(sys.modules, "hotline.config", config)

    result = runner.invoke(sim, ["call", "--url", app.base_url, "--quiet"])

    assert result.exit_code == 0, result.output
    assert asked == [str(tmp_path / "no-instance")]


def test_without_any_credentials_the_call_is_a_usage_error(app, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "hotline.config", None)  # import fails

    result = runner.invoke(sim, ["call", "--url", app.base_url])

    assert result.exit_code == 2
    assert "no Twilio credentials" in result.output
    assert not app.hits


def test_call_records_the_given_wav_and_rejects_other_files(app, creds, runner, tmp_path):
    app.scenario = {
        "incoming": '<Response><Record action="/voice/step?node=bye" '
        'recordingStatusCallback="/voice/recording-status"/></Response>',
        "bye": BYE,
    }
    wav = tmp_path / "statement.wav"
    wav.write_bytes(quiet_tone_wav(1.0))
    text = tmp_path / "statement.txt"
    text.write_text("not audio")

    good = runner.invoke(sim, ["call", "--url", app.base_url, "--record", str(wav),
                               *cred_args(creds)])  # fmt: skip
    bad = runner.invoke(sim, ["call", "--url", app.base_url, "--record", str(text),
                              *cred_args(creds)])  # fmt: skip

    assert good.exit_code == 0, good.output
    assert "caller records 1 s" in good.output
    assert list(app.recordings.values()) == [wav.read_bytes()]
    assert bad.exit_code == 2
    assert "not a PCM WAV file" in bad.output


def test_bad_digits_are_a_usage_error(app, creds, runner):
    result = runner.invoke(sim, ["call", "--url", app.base_url, "--digits", "1x",
                                 *cred_args(creds)])  # fmt: skip

    assert result.exit_code == 2
    assert "bad keys token" in result.output


def test_load_prints_the_report_and_exits_0(app, creds, runner):
    app.scenario = {"incoming": MENU, "bye": BYE}

    result = runner.invoke(sim, ["load", "--url", app.base_url, "--calls", "8",
                                 "--concurrency", "4", "--digits", "1", "--status-order",
                                 "shuffled", *cred_args(creds)])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "calls 8" in result.output
    assert "failed 0" in result.output
    assert "incoming" in result.output


def test_load_exits_1_when_calls_fail(app, creds, runner):
    app.scenario = {"incoming": ("<Response><Bogus/></Response>", 200)}

    result = runner.invoke(sim, ["load", "--url", app.base_url, "--calls", "3",
                                 "--concurrency", "2", *cred_args(creds)])  # fmt: skip

    assert result.exit_code == 1
    assert "failed 3" in result.output
