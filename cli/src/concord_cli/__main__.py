"""`python -m concord_cli` runs the `concord` command."""

from concord_cli.main import main

main()
