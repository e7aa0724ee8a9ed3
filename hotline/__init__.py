"""hotline: a public court / city hotline on Twilio (IVR, offline speech, work orders)."""

from hotline.app import create_app

__all__ = ["create_app"]
