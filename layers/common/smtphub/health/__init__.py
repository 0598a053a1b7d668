"""Health that looks after itself (issue 13): scheduled probes, automatic re-enable, history, alerts.

    schedule.py    when a server is probed next: backoff after failures, a stable phase over the interval
    history.py     the last 50 results of each server (HistoryTable, 30-day TTL)
    alerts.py      status changes and expiring certificates as EventBridge events; the disabled metric
    recorder.py    one check's result: the server's record, its history entry, its alerts
    sweep.py       the scheduled sweep: the servers due, to the queue in batches of 10
    worker.py      the queue's consumer: claim, probe, record (Powertools' BatchProcessor)

The probe itself is the check's (smtphub.check.service.CheckService.scheduled): one core, two modes.
"""
