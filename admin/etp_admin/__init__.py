"""Operator tooling for any deployed stack (local MiniStack, LocalStack, AWS), through the AWS APIs."""
