"""Who may send reports and who may log in: sites, API clients and their tokens, web users,
roles and permissions, and whose data a caller may see."""
