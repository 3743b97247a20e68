"""ICH E2B(R3) (HL7 v3 ICSR) import, export, conformance checking and acknowledgements."""
