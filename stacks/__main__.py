"""Pulumi entry point (`main: stacks/` in Pulumi.yaml): `pulumi up -s <env>` runs this.

The project installs into the stack's virtualenv: Pulumi creates `.venv` at the project root
and runs `pip install -r requirements.txt` in this program directory, where
`stacks/requirements.txt` holds `-e ..`; so the program imports it as a package.
"""

from tkestack.stacks.program import main

main()
