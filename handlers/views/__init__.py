"""How the bot looks: callback data, keyboards and message texts (no handlers here)."""
