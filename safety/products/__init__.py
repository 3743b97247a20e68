"""Products, studies and reference safety information: the registry the rules consult."""
