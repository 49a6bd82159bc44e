"""Results for managers and admins: one report object, its charts, its files."""
