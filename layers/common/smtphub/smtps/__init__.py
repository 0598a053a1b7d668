"""SMTP servers: models and rules, service, repository, their password secrets and the secrets' cleanup."""
