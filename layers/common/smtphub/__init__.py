"""smtp-hub's shared package, shipped to every function in the common layer.

handlers (functions/*/app.py) -> smtphub.http (request parsing, errors to HTTP)
                              -> smtphub.services (domain logic)
                              -> smtphub.repositories (DynamoDB, Secrets Manager: the only boto3 users)
"""
