"""Realistic demo data, generated from a seed (no fixture files)."""
