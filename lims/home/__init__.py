"""The pages that read many rooms and write nothing: the home dashboard and the header search.

Panels of the dashboard live in :mod:`lims.home.panels` (a registry another room can add to);
the search in :mod:`lims.home.search`.
"""
