"""Accounts: logging in against the Cognito user pool, taking tokens back, and per-account limits.

- `repository`: `CognitoRepository` (the user pool, `AdminInitiateAuth`) and `AccountsRepository` (the
  accounts table: item `account#<sub>` holds `revokedBefore`, the epoch second before which every token of
  the account is refused by the authorizer).
- `service`: `AccountService.login` and `AccountService.logout`.
- `limits`: `CheckLimiter`, an account's SMTP checks per minute, and `ProbeBudget`, its scheduled probes
  per day, counted in the accounts table.
- `quotas`: `Quotas`, the transaction steps that count an account's apps and servers (and each app's) in
  the accounts table, for the apps' and servers' repositories; `backfill`, counting what was stored before.

Nothing is imported here, so that a function pays only for the module it uses (the check imports `limits`
alone).
"""
