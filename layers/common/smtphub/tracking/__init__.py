"""Tracking and unsubscribing: signed links in an e-mail's HTML, the public routes they reach, the record of
opens and clicks."""
