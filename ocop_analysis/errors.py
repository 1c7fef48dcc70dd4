"""Errors the kit raises on purpose.

Bad *rows* are never exceptions (they become rows of ``reg.problems``); only a
file that cannot be read at all, or a bad configuration file, raises.
"""


class RegistryError(Exception):
    """A registry file cannot be read at all (corrupt, encrypted, not a spreadsheet, ...).

    The message is a plain sentence naming the file and the reason.
    """


class ConfigError(ValueError):
    """A plan, scenario, corrections or links file has a bad key or value."""
