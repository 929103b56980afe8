"""``python -m ganzoo.theory NAME [--plot FILE] [--quick] | --list``."""
from ganzoo.theory import main

raise SystemExit(main())
