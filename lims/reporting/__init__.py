"""The ministry's monitoring reports on the LIMS side: which verified results go into a report
(`data`), report jobs built in the background with progress (`jobs`, `lims report worker`), the
frozen issued reports and their downloads (`views`)."""
