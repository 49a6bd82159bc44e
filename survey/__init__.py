"""The Follow-up questionnaire and its rules: pure domain, no aiogram or SQLAlchemy."""
