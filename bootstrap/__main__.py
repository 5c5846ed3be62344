"""Entry point of the bootstrap project (`cd bootstrap && pulumi up -s <env>`)."""

from tkestack.stacks.bootstrap import main

main()
