"""Reading the analyst's YAML files (plans, budget scenarios, corrections) with one set of messages."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file; ``ConfigError`` in plain words when it is missing, not UTF-8 or not YAML.

    ``what`` names the file's role in the message ("plan", "scenario", "corrections").
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not a UTF-8 text file (save the {what} file as UTF-8)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
