"""Phone numbers as customers and spreadsheets write them, reduced to one form."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s()\-.]")


def normalise_phone(raw: str) -> str | None:
    """E.164-like "+79123456789" for Russian numbers, "+<digits>" for others; None if invalid.

    Russian numbers arrive as "+7 (912) 345-67-89", "8 912 345 67 89", "79123456789"
    or just "9123456789"; all four are the same customer.
    """
    text = raw.strip()
    if text.endswith(".0"):  # a number cell read from a spreadsheet as float
        text = text[:-2]
    text = _SEPARATORS.sub("", text)
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit():
        return None
    if len(digits) == 11 and digits[0] in "78" and (plus is False or digits[0] == "7"):
        return "+7" + digits[1:]
    if len(digits) == 10 and digits[0] == "9" and not plus:
        return "+7" + digits
    if plus and 8 <= len(digits) <= 15:
        return "+" + digits
    return None
