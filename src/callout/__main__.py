"""`python -m callout` is the `callout` command."""

from callout.cli.main import main

main()
