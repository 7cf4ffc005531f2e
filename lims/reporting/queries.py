"""The report jobs as a list of the list machinery (``lims.core.listing``): every request, the
newest first over ``(requested_at, id)``, filtered by status, issued or not, and date."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lims.auth.models import User
from lims.core.listing import (
    Column,
    Filter,
    ListSpec,
    choice_parser,
    date_range_filters,
    enum_choices,
    enum_parser,
)
from lims.reporting.models import JobStatus, ReportJob


def _issued_choices() -> list[tuple[str, str]]:
    return [("yes", _("Issued")), ("no", _("Not issued"))]


REPORT_LIST = ListSpec(
    name="reports",
    title=_l("Monitoring reports"),
    source=ReportJob,
    id=ReportJob.id,
    columns=(
        Column("job", "#", ReportJob.id, kind="int", sortable=True, unique=True),
        Column("title", _l("Report title"), ReportJob.title),
        Column("status", _l("Status"), ReportJob.status, kind="label"),
        Column("version", _l("Version"), ReportJob.version, kind="int"),
        Column("lang", _l("Language"), ReportJob.lang),
        Column("requested", _l("Requested"), ReportJob.requested_at, kind="datetime",
               sortable=True),
        Column("requested_by", _l("Requested by"), User.username),
        Column("finished", _l("Finished"), ReportJob.finished_at, kind="datetime"),
        Column("rows", _l("Rows"), ReportJob.dataset_rows, kind="int"),
        Column("dataset_sha256", _l("SHA-256 of the dataset"), ReportJob.dataset_sha256),
        Column("error", _l("Error"), ReportJob.error),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(JobStatus), lambda v: ReportJob.status == v,
               choices=enum_choices(JobStatus)),
        Filter("issued", _l("Issued"), choice_parser(("yes", "no")),
               lambda v: ReportJob.version.is_not(None) if v == "yes"
               else ReportJob.version.is_(None), choices=_issued_choices),
        *date_range_filters(ReportJob.requested_at, "requested", _l("Requested from"),
                            _l("Requested to")),
    ),
    default_sort="-requested",
    joins=lambda stmt: stmt.outerjoin(User, User.id == ReportJob.requested_by_id),
)
