"""Webhooks and EventBridge events: what happened to an app's e-mails, told once to whoever listens.

events.py    the five events: upstream's names, parameters, the app's URL setting, the EventBridge
             detail-type of each
outbox.py    Outbox.notify: one delivery queued for the app's URL of the event, and the event on the
             default bus (what the outcomes, tracking and blacklists call)
delivery.py  a delivery as it waits in WebhookQueue (ids and parameters, never content), its form
             body and its signature
sender.py    WebhooksSenderFunction: each delivery POSTed to the app's URL through the SSRF guard,
             retried with backoff for up to a day, then the dead-letter queue
outcomes.py  EmailsOutcomesFunction: each e-mail reaching F or E on the EmailsTable stream, announced
             once (sending_finished, sending_error)
secret.py    the apps' webhook secrets in Secrets Manager (write-only, version-pinned)
"""
