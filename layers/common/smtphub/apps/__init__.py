"""Apps: an account's containers of SMTP servers (models, service, repository)."""
