"""Error types. The CLI turns any `LowlightError` into one line on stderr and a non-zero exit."""


class LowlightError(Exception):
    """Base class of every error a user can cause with bad input."""


class RawReadError(LowlightError):
    """A file could not be read as a supported camera RAW frame."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
