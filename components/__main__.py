"""Host the components as a Pulumi package: `python components/` or `python -m tkestack.components`.

The Pulumi CLI runs this when a program uses the package (`pulumi package add <repository or
path>/components`, or `packages:` in a YAML program's Pulumi.yaml). The SDK's component provider
host infers the schema from `components/package.py` and constructs the components there on the
engine's behalf. `tests/components/test_package_schema.py` keeps that schema in a golden file.
"""

import sys
from pathlib import Path


def _forget_own_folder() -> None:
    """Run as a script (`python components/`), Python puts this folder first on `sys.path`,
    where every module here would import under a second, top-level name (and one named like
    a standard module would shadow it: tests/test_project.py keeps the names apart); the
    package is imported by its installed name (`tkestack.components`) instead."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]


def main() -> None:
    """Serve the package's components to the Pulumi engine until it stops the plugin."""
    _forget_own_folder()
    from pulumi.provider import main as serve

    from tkestack.components.package import (
        PackageProvider,
    )

    # What `component_provider_host` does (pulumi provider/experimental/host.py), with the
    # provider that reports bad inputs per property (`PackageProvider`).
    provider = PackageProvider()
    serve(provider, sys.argv[1:])


if __name__ == "__main__":
    main()
