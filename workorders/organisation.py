"""Departments, categories (with their time limits) and handlers, and loading them from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workorders.base import Base, utcnow

DEFAULT_ORGANISATION = Path(__file__).parent / "organisation.yaml"


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    # Time limits in working days; 0 means the same working day.
    limit_days: Mapped[int] = mapped_column(default=5)
    urgent_limit_days: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)

    def limit_for(self, urgency: str) -> int:
        return self.urgent_limit_days if urgency == "urgent" else self.limit_days


class Handler(Base):
    """A person in a department who works orders (a judge's clerk, an officer)."""

    __tablename__ = "handlers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    on_duty: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("organisation file: " + "; ".join(problems))


@dataclass(frozen=True)
class LoadResult:
    departments: int
    categories: int
    handlers: int


def load_organisation(session: Session, path: Path = DEFAULT_ORGANISATION) -> LoadResult:
    """Upsert departments, categories and handlers by code from a YAML file (idempotent)."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    if not isinstance(data, dict):
        raise OrganisationError([f"{path}: expected a mapping at the top"])
    departments = _items(data, "departments", path, problems)
    categories = _items(data, "categories", path, problems)
    handlers = _items(data, "handlers", path, problems)
    dept_codes = {str(d.get("code")) for d in departments}
    for h in handlers:
        if str(h.get("department")) not in dept_codes:
            problems.append(
                f"handler {h.get('code')!r}: unknown department {h.get('department')!r}"
            )
    for c in categories:
        for key in ("limit_days", "urgent_limit_days"):
            value = c.get(key, 0)
            if not isinstance(value, int) or value < 0:
                problems.append(f"category {c.get('code')!r}: {key} must be a whole number ≥ 0")
    if problems:
        raise OrganisationError(problems)
    by_code: dict[str, Department] = {}
    for d in departments:
        dept = _upsert(session, Department, d["code"], name=d["name"], name_en=d.get("name_en"))
        by_code[dept.code] = dept
    for c in categories:
        _upsert(
            session,
            Category,
            c["code"],
            name=c["name"],
            name_en=c.get("name_en"),
            limit_days=c.get("limit_days", 5),
            urgent_limit_days=c.get("urgent_limit_days", 1),
        )
    session.flush()
    for h in handlers:
        _upsert(
            session,
            Handler,
            h["code"],
            name=h["name"],
            department_id=by_code[str(h["department"])].id,
            on_duty=h.get("on_duty", True),
        )
    session.flush()
    return LoadResult(len(departments), len(categories), len(handlers))


def _items(data: dict[str, Any], key: str, path: Path, problems: list[str]) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list):
        problems.append(f"{path}: {key} must be a list")
        return []
    good = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
            problems.append(f"{path}: {key}[{i}] needs a code and a name")
        else:
            good.append(item)
    return good


def _upsert(session: Session, model: Any, code: str, **values: Any) -> Any:
    row = session.execute(select(model).where(model.code == code)).scalar_one_or_none()
    if row is None:
        row = model(code=code, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return row
