"""redditbot: a chatbot daemon for Reddit (listen → select → generate → moderate → post)."""

__version__ = "0.1.0"
