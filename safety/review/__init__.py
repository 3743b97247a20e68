"""What people decide about a case: workflow transitions, electronic signatures (21 CFR Part 11),
coding and duplicate decisions, recoding to a new release; what the guards know; the review
queue, the case page and the dashboard."""
