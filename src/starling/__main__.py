"""``python -m starling``: the same as the ``starling`` command."""

from starling.cli import main

main()
