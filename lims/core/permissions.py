"""Roles and what each may do. Views are guarded by permission, never by role name, so the
mapping below is the single place that says who may do what."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    TECHNICIAN = "technician"
    REVIEWER = "reviewer"
    MINISTRY = "ministry"
    ADMIN = "admin"
    #: A laboratory taking part in our EQA scheme: sees and submits for its own laboratory only.
    EQA_PARTICIPANT = "eqa_participant"


class Permission(enum.StrEnum):
    VIEW_SAMPLES = "view_samples"
    REGISTER_SAMPLES = "register_samples"
    RECEIVE_SAMPLES = "receive_samples"
    CANCEL_SAMPLES = "cancel_samples"
    ANALYSE_SAMPLES = "analyse_samples"
    REVIEW_RESULTS = "review_results"
    RELEASE_REPORTS = "release_reports"
    VIEW_REPORTS = "view_reports"
    MANAGE_SURVEYS = "manage_surveys"
    MANAGE_REFERENCE = "manage_reference"
    MANAGE_USERS = "manage_users"
    SUBMIT_READINGS = "submit_readings"
    MANAGE_EQA = "manage_eqa"
    SUBMIT_EQA_RESULTS = "submit_eqa_results"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TECHNICIAN: frozenset(
        {
            Permission.VIEW_SAMPLES,
            Permission.REGISTER_SAMPLES,
            Permission.RECEIVE_SAMPLES,
            Permission.CANCEL_SAMPLES,
            Permission.ANALYSE_SAMPLES,
            Permission.VIEW_REPORTS,
        }
    ),
    Role.REVIEWER: frozenset(
        {
            Permission.VIEW_SAMPLES,
            Permission.REVIEW_RESULTS,
            Permission.RELEASE_REPORTS,
            Permission.VIEW_REPORTS,
            Permission.MANAGE_EQA,
        }
    ),
    Role.MINISTRY: frozenset({Permission.VIEW_REPORTS}),
    # submitting EQA results is a participant laboratory's act, never the provider's own staff's
    Role.ADMIN: frozenset(Permission) - {Permission.SUBMIT_READINGS, Permission.SUBMIT_EQA_RESULTS},
    Role.EQA_PARTICIPANT: frozenset({Permission.SUBMIT_EQA_RESULTS}),
}


def permissions_for(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
