"""Questions to sites: the safety team asks, the site answers (text and/or a follow-up)."""
