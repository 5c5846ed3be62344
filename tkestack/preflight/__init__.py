"""`tkestack preflight`: check a real account before the first `pulumi up`.

Read-only checks with the user's ordinary credentials, through the clouds' official SDKs
(boto3, tencentcloud-sdk-python: optional extras `tkestack[aws]`, `tkestack[tencentcloud]`,
imported only when that cloud is in the environment). Each finding has a stable check id, a
severity, the spec key it concerns (with file and line) and a fix. docs/preflight.md lists
the checks and the calls they make.

Modules: `facts` (what the spec and catalog say), `aws`, `tencentcloud`, `reach` (attached
clusters' API endpoints), `runner` (runs and locates), `report` (table, JSON, markdown),
`model` (findings, exit codes).
"""

from .model import (
    EXIT_BLOCKED,
    EXIT_CLEAR,
    EXIT_USAGE,
    PreflightFinding,
    PreflightUsageError,
    exit_code,
)

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_CLEAR",
    "EXIT_USAGE",
    "PreflightFinding",
    "PreflightUsageError",
    "exit_code",
]
