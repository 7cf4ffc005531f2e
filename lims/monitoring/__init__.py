"""Reference geography and population groups, and the survey structure samples hang from:
programme → survey round → cluster → household / participant."""
