"""The few exceptions the product raises; each message says what to do."""


class RagError(Exception):
    """Base class: every error the product raises on purpose."""


class ConfigError(RagError):
    """A setting, flag or name is invalid."""


class ModelError(RagError):
    """A model could not be found, prepared or verified."""


class IndexError_(RagError):
    """An index is missing, corrupt, or was built with other settings."""


class InputError(RagError):
    """A document or question cannot be used as given."""


class EmbedderMismatch(IndexError_):
    """The index was built with a different embedder than the one asked for."""
