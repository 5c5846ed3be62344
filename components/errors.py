"""The exception components raise for bad arguments (the Pulumi half of the error model in
`components/validation.py`, kept apart so that module stays free of Pulumi imports)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pulumi

from .validation import Problem, as_problem


class ArgumentsError(pulumi.InputPropertiesError, ValueError):
    """A component's arguments are invalid: every problem, each with its property path.

    A `pulumi.InputPropertiesError` (the provider protocol reports `errors` per property) and,
    for Python callers that caught the earlier `ValueError`, a `ValueError` too."""

    def __init__(self, component: str, name: str, problems: Sequence[Problem]) -> None:
        self.component = component
        self.resource_name = name
        self.problems = list(problems)
        message = f"{component} {name}: " + "; ".join(
            f"{problem.dotted}: {problem.message}" if problem.path else problem.message
            for problem in self.problems
        )
        super().__init__(
            message,
            errors=[
                pulumi.InputPropertyErrorDetails(property_path=p.dotted, reason=p.message)
                for p in self.problems
            ],
        )


def raise_problems(component: str, name: str, problems: Iterable[Problem | str]) -> None:
    """Raise `ArgumentsError` listing every error among `problems`; nothing when none."""
    errors = [p for p in map(as_problem, problems) if p.severity == "error"]
    if errors:
        raise ArgumentsError(component, name, errors)
