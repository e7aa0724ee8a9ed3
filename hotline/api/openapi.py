"""flask-smorest adapted: an `Api` that speaks problem+json and leaves the rest of the app
alone, and a `Blueprint` whose decorators keep the views' types (the package has no hints)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import flask_smorest
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response

from hotline.api.problems import PROBLEM_JSON, register_error_handlers
from hotline.api.schemas import ProblemSchema

F = TypeVar("F", bound=Callable[..., Any])


class HotlineApi(flask_smorest.Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # flask-smorest would answer every HTTPException of the whole app with its own JSON;
        # ours answers only API paths, in the problem format, and leaves /voice alone.
        register_error_handlers(self._app)

    def _register_responses(self) -> None:
        """The documented error responses, with the content type they are sent with."""
        for status in HTTPStatus:
            response: dict[str, object] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (a problem document)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_pagination_header(self) -> None:
        # X-Pagination is JSON text; flask-smorest documents it as a `schema`, which in
        # OpenAPI 3 means the "simple" style (k,v,k,v): `content` says what is really sent.
        header = {
            "description": "Pagination metadata, as JSON",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }
        self.spec.components.header("PAGINATION", header, lazy=True)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    def arguments(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().arguments(*args, **kwargs)  # type: ignore[no-any-return]

    def response(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().response(*args, **kwargs)  # type: ignore[no-any-return]

    def alt_response(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().alt_response(*args, **kwargs)  # type: ignore[no-any-return]

    def doc(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().doc(*args, **kwargs)  # type: ignore[no-any-return]

    def paginate(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().paginate(*args, **kwargs)  # type: ignore[no-any-return]

    def route(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return super().route(*args, **kwargs)  # type: ignore[no-any-return]
