"""Accounts: users, passwords (scrypt), bearer tokens (JWT), the account service and its DynamoDB store."""
