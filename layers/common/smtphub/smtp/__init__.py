"""The SMTP client the check and the sender share: one conversation over one socket, safe and bounded.

    stages.py        the stage names, in order (TOKEN DNS CONNECT TLS EHLO AUTH MAIL RCPT DATA), and
                     StageFailure, which ends a conversation naming its stage
    endpoint.py      Endpoint: what a conversation needs of its server (the check's Plan, the sender's
                     target); OAuth, XOAUTH2's token source
    limits.py        Limits (per-step caps) and Deadline (one end for the whole conversation)
    scrub.py         Scrubber: server text without any secret, in any form it lists (scrub_forms.py),
                     masked in place or, disguised, found in normalized views (scrub_views.py)
    session.py       Session: bytes and replies on one socket under the deadline; SmtpReply
    commands.py      EHLO, STARTTLS, and AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2): over an offered STARTTLS
                     when not encrypted yet, never in clear unless insecure_auth and none is offered
    tls.py           the TLS client context of a server (cacert, tlsverify, tlsmin)
    oauth.py         stage TOKEN: XOAUTH2's access token from Microsoft, Google or a generic endpoint
    https.py         one guarded, bounded HTTPS POST (the token endpoints)
    client.py        a session for an endpoint, its login (TOKEN to AUTH), DATA's bytes, QUIT

The check (smtphub.check) and the sender (smtphub.sending) both stand on this package, one floor above
the SMTP servers' records (smtphub.smtps, whose TlsFacts a session fills) and below both features.

Why a small client of our own rather than smtplib, even subclassed to connect to the checked address
and to honour one deadline (as read in CPython 3.11's Lib/smtplib.py):
- smtplib's only bound is the socket timeout, applied to each recv: `getreply` reads through
  `sock.makefile().readline`, so a server that drips one byte every few seconds never trips it and a
  reply may take forever. There is no deadline across connect, EHLO, STARTTLS, AUTH and DATA either;
  adding one means rewriting `getreply`, the heart of the class.
- `getreply` loops over continuation lines without a count: `_MAXLINE` (8192) bounds one line only,
  so an endless multi-line banner is read, and kept, until the server stops.
- Its errors (SMTPServerDisconnected, SMTPResponseException, a bare TimeoutError) do not say which
  step failed; the contract's `stage` would have to be rebuilt around every call.
- `connect` resolves the host itself (`socket.create_connection`), while the check must connect to the
  address netguard resolved and checked, and still verify the certificate for the host name.
- `auth` encodes the PLAIN and LOGIN answers, and CRAM-MD5 the password, as ASCII: a non-ASCII
  username or password raises UnicodeEncodeError instead of authenticating.
- `set_debuglevel` prints every line sent, AUTH included, to stderr: a transcript holding credentials.
What would be left of smtplib after overriding all that is the command strings, which are simpler
written out here.
"""
