"""Getting the survey to customers: invitations after each visit, the reminder,
broadcasts on demand, one rate-limited sender, and the call list of the unreachable."""
