"""The JSON API for machines (instrument drivers) and scripts."""
