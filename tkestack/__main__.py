"""`python -m tkestack`: the same command line as the `tkestack` script."""

from .cli import main

main()
