"""Escalation casework: opening cases from answers, delivering alerts, SLA reminders.

The application layer between the pure rules in survey/ and Telegram: it uses the
repositories of storage/ and the Bot, and is called from handlers and scheduler jobs.
"""
