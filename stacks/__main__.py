"""Pulumi entry point (`main: stacks/` in Pulumi.yaml): `pulumi up -s <env>` runs this.

The project installs into the stack's virtualenv (`requirements.txt` holds `-e .`, which
Pulumi installs when it creates `.venv`), so the program imports it as a package.
"""

from tkestack.stacks.program import main

main()
