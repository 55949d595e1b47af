"""The review and history web pages for operators (``redditbot web``, ``[web] enabled``).

Importing this package costs nothing: Starlette, Jinja2 and uvicorn are imported by
``redditbot.web.app`` and ``redditbot.web.server`` only, and come with the ``web`` extra.
"""
