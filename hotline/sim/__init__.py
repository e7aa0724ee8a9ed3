"""Twilio simulator: plays Twilio against a running hotline app over real HTTP."""
