"""Reply generation: prompt building, backends (transformers, OpenAI-compatible HTTP), models.

The pipeline sees only ``redditbot.domain.Generator``; ``build_generator`` picks the backend.
torch and transformers are imported by ``transformers_backend`` and ``sampling`` only, on first
use, never by importing this package.
"""

from redditbot.generation.factory import ModelCache, ModelRouter, build_generator
from redditbot.generation.settings import ModelSettings

__all__ = ["ModelCache", "ModelRouter", "ModelSettings", "build_generator"]
