"""``python -m redditbot``."""

import sys

from redditbot.cli import main

sys.exit(main())
