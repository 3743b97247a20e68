"""Blinded trials: the treatment assignment, the audiences, the masking of arm-revealing values."""
