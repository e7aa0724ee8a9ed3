"""The loopback media server behaves like Twilio's recording URLs."""

from __future__ import annotations

import requests

from hotline.sim.recordings import quiet_tone_wav, recording_server, wav_duration_s

ACCOUNT = "AC" + "a" * 32
RECORDING = "RE" + "b" * 32


def test_quiet_tone_is_8khz_mono_16bit_and_two_seconds():
    audio = quiet_tone_wav()
    assert audio[:4] == b"RIFF"
    assert audio[8:12] == b"WAVE"
    assert wav_duration_s(audio) == 2.0


def test_recording_urls_answer_like_twilio():
    server = recording_server()
    audio = quiet_tone_wav(0.5)
    url = server.add(account_sid=ACCOUNT, auth_token="tok", recording_sid=RECORDING, audio=audio)
    assert url == f"http://127.0.0.1:{server.port}/recordings/{ACCOUNT}/{RECORDING}"

    assert requests.get(url, timeout=5).status_code == 404  # not stored yet
    server.mark_ready(RECORDING)
    plain = requests.get(url, timeout=5)
    assert plain.status_code == 200
    assert plain.headers["Content-Type"] == "audio/wav"
    assert plain.content == audio
    assert requests.get(url + ".wav", auth=(ACCOUNT, "tok"), timeout=5).content == audio
    assert requests.head(url, timeout=5).status_code == 200
    assert requests.get(url, auth=(ACCOUNT, "wrong"), timeout=5).status_code == 401
    assert requests.get(url + ".mp3", timeout=5).status_code == 404
    other = f"http://127.0.0.1:{server.port}/recordings/AC{'c' * 32}/{RECORDING}"
    assert requests.get(other, timeout=5).status_code == 404
    assert server.fetch_count(RECORDING) == 3
