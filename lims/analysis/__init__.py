"""Analytical runs: method versions, calibration, titration and plate layouts (pure logic)."""
