"""Internal quality control: Westgard multirules and control statistics (pure logic)."""
