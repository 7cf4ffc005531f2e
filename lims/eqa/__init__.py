"""External quality assessment: the scheme the laboratory runs, and the schemes it takes part in."""
