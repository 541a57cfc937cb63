"""The error every course data loader raises for a bad file."""


class DataError(ValueError):
    """A data file is missing, corrupted or in the wrong format; the message names the file
    and says how to fix it."""
