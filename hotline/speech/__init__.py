"""Offline speech: audio handling, the Vosk backend, grammars, the model catalogue, the live
stream server and the transcription job. Only this package imports `vosk`."""
