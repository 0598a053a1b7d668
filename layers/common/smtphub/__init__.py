"""smtp-hub's shared package, shipped to every function in the common layer.

handler (functions/<route>/app.py)
  -> smtphub.http      the edge: request models (pydantic), responses, errors to HTTP
  -> smtphub.wiring    the composition root: the feature's service, built once per container
  -> smtphub.<feature> smtps, apps, check, accounts: models, service, repository (the only boto3 users)
"""
