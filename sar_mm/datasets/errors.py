"""The error raised for an image file that cannot be read or decoded."""

__all__ = ['UnreadableImageError']


class UnreadableImageError(RuntimeError):
    """An image file is missing, truncated or not an image.

    Args:
        filename (str): the file.
        reason (str): what went wrong (the decoder's message).
    """

    def __init__(self, filename: str, reason: str = '') -> None:
        super().__init__(f'cannot read image {filename}' + (f': {reason}' if reason else ''))
        self.filename = filename
        self.reason = reason
