"""Schemas shared by every domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict

Skip = Annotated[int, Query(ge=0, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=200, description="Rows to return (max 200)")]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Business rule violated",
        401: "Missing or invalid token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflicts with existing data",
        422: "Invalid request",
    }.items()
}
