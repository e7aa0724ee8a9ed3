"""The project's one metadata: every table of `workorders` and of `hotline`, for Alembic."""

from hotline.api.tokens import ApiToken  # noqa: F401  (the API's table, for Alembic)
from hotline.speech.records import Recording, Transcript  # noqa: F401  (speech tables)
from hotline.users.models import AuditEvent, User  # noqa: F401  (console users, audit trail)
from workorders.models import Base

metadata = Base.metadata

__all__ = ["metadata"]
