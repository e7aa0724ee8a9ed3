"""Console users, their roles, password login with lockout, and the append-only audit trail.

Kept free of Flask (like `hotline.api.tokens`) so the CLI and Alembic import it without the
web stack; the console (`hotline.console`) is the web side.
"""
