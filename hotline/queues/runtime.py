"""What queue, agent and callback code needs at hand, the same in the web app and in workers:
settings, the queue configuration, the business calendar, Redis, the clock, public URLs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import redis

from hotline import clock
from hotline.config import Settings
from hotline.orders.runtime import cached_runtime
from hotline.queues.config import QueueConfig, cached_queue_config
from hotline.redis_store import redis_client
from workorders.calendar import BusinessCalendar
from workorders.calling_hours import CallingHours


class NoPublicUrl(RuntimeError):
    """Calls cannot be placed: Twilio would have no URL to fetch their TwiML from."""


@dataclass(frozen=True)
class QueueRuntime:
    settings: Settings
    config: QueueConfig
    calendar: BusinessCalendar

    @classmethod
    def for_settings(cls, settings: Settings) -> QueueRuntime:
        return cls(settings, cached_queue_config(settings), cached_runtime(settings).calendar)

    @property
    def redis(self) -> redis.Redis:
        return redis_client(self.settings)

    def now(self) -> datetime:
        return clock.now(self.settings)

    def service_hours(self) -> CallingHours:
        return self.config.service_hours

    def in_service(self, moment: datetime) -> bool:
        """Agents answer at this moment (their hours, on a working day)."""
        local = moment.astimezone(self.calendar.tz)
        hours = self.config.service_hours
        if hours.working_days_only and not self.calendar.is_working_day(local.date()):
            return False
        return hours.start <= local.time() < hours.end

    def url(self, path: str, **query: str | int) -> str:
        """An absolute webhook URL for a call placed from here (query values are ids)."""
        base = self.settings.outbound_base_url or self.settings.public_base_url
        if not base:
            raise NoPublicUrl(
                "set PUBLIC_BASE_URL (or HOTLINE_OUTBOUND_BASE_URL) so Twilio can reach the "
                "webhooks of the calls the workers place"
            )
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{base.rstrip('/')}{path}{suffix}"
