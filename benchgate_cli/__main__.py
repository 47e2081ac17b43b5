"""`python -m benchgate_cli`, the same as the `benchgate` command."""

import sys

from benchgate_cli.main import main

sys.exit(main())
