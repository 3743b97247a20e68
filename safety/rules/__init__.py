"""Regulatory rules: validity, seriousness, expectedness, causality and reporting obligations."""
