"""Every model of the `workorders` domain, imported in one place for Alembic and `create_all`."""

from workorders.base import Base
from workorders.calls import Call, CallEvent
from workorders.contacts import Contact

__all__ = ["Base", "Call", "CallEvent", "Contact"]
