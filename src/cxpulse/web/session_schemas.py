"""Bodies of the session routes (``routes/sessions.py``) and of the password change."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cxpulse.web.schemas import Body, Password


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    last_seen_at: datetime = Field(description="Updated at most once a minute.")
    expires_at: datetime
    user_agent: str | None = Field(description='The browser, such as "Firefox on Linux".')
    source: str | None = Field(description="The client address that logged in.")
    current: bool = Field(False, description="Whether this is the session of the request.")


class SessionList(BaseModel):
    items: list[SessionOut]


class SessionsEnded(BaseModel):
    ended: int = Field(description="How many sessions ended.")


class PasswordChange(Body):
    model_config = ConfigDict(extra="forbid")
    current_password: Password
    new_password: Password = Field(description="At least 8 characters.")
