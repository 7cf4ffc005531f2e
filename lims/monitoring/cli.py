"""Monitoring commands: demo data. STUB until the module owner fills it in."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    return None
