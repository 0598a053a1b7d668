"""The sending engine (the sender Lambda's side): the message, the order of servers, pacing and limits."""
