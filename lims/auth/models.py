from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.core.i18n import SUPPORTED_LANGUAGES
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.core.permissions import Permission, Role, permissions_for


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "language IS NULL OR language IN ({})".format(", ".join(f"'{c}'" for c in SUPPORTED_LANGUAGES)),
            name="language",
        ),
    )

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(sa.String(8))  # None: session, then browser
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # In every session and remember-me cookie (through ``get_id``); a new value ends them all.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(16))

    role_links: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Session identity: the id plus a fingerprint of the password hash and the session
        token, so a password change or a new token (logout, lock, role change, deactivation)
        ends every session and remember-me cookie this user had."""
        return f"{self.id}.{self.session_fingerprint}"

    @property
    def session_fingerprint(self) -> str:
        material = f"{self.password_hash}\x00{self.session_token}"
        return hashlib.sha256(material.encode()).hexdigest()[:32]

    def end_sessions(self) -> None:
        """Replace the session token: every cookie issued before stops naming this user."""
        self.session_token = secrets.token_hex(16)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(link.role for link in self.role_links)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    def can(self, permission: Permission) -> bool:
        return self.is_active and permission in self.permissions

    def __repr__(self) -> str:
        return format_repr(self, "id", "username")


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_links")


class ApiToken(Base):
    """A machine credential. Only a SHA-256 of the secret is stored; the secret is shown once.
    Tokens carry their own permission (``submit_readings``) rather than a user's roles, so an
    instrument PC holding one can do nothing else."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    created_by: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return format_repr(self, "id", "name", "prefix")


class ThrottleScope(enum.StrEnum):
    ADDRESS = "address"
    USERNAME = "username"


class LoginFailure(Base):
    """One failed login, counted against the client address and against the username typed.

    Kept in the database so the throttle holds across gunicorn workers and hosts. ``key`` is a
    SHA-256 of the address or the lower-cased username, never the text: people type passwords
    into the username field. Rows older than the throttle window are deleted as new ones come.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_scope_key_failed_at", "scope", "key", "failed_at"),
    )

    id: Mapped[intpk]
    scope: Mapped[ThrottleScope] = mapped_column(str_enum(ThrottleScope, "throttle_scope"))
    key: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return format_repr(self, "id", "scope", "failed_at")
