import sys

from jaxgan.cli import main

sys.exit(main())
