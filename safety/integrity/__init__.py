"""Checks that the record is what was written: the audit trail's hash chains
(``safety audit verify``)."""
