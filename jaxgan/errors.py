"""The one exception type for bad input: the CLI prints it as a single line and exits non-zero."""


class JaxganError(Exception):
  """A user-facing error (bad config, data, checkpoint or argument); its message is one line."""
