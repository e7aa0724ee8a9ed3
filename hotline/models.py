"""The project's one metadata: every table of `workorders` and of `hotline`, for Alembic."""

from workorders.models import Base

metadata = Base.metadata

__all__ = ["metadata"]
