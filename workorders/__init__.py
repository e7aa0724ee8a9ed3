"""The work-order domain: contacts, calls, cases and work orders; no web, telephony or speech."""
