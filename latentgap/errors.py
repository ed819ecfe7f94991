"""The one project exception: a user error with a message that names the bad value and the fix."""


class LatentgapError(Exception):
    """Raised for anything the user can fix; the CLI prints it as one line, the UI as a `gr.Error`."""
