"""The pure domain: what SES reports, and what it adds up to.

No module here does I/O, reads the clock on its own, or imports anything outside ``mailfate.core`` and
``mailfate.errors``: events come in as values, fates and suppressions go out as values. Everything else in
mailfate moves bytes to and from these functions.
"""
