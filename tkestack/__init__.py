"""tkestack: TKEStack's enterprise container platform as a Pulumi distribution.

`__version__` is the one version source: pyproject.toml reads it (`[tool.setuptools.dynamic]`),
`tkestack --version` prints it, and tests/test_packaging.py checks that the policy pack's
`PulumiPolicy.yaml` and CHANGELOG.md agree with it.
"""

__version__ = "0.1.0"
