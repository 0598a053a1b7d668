"""The e-mail as a resource (the API side): its record, its logs, its content in S3, its queue."""
