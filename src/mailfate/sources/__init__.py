"""Where notifications come from: bytes in, records out, into the store.

``records`` splits a stream into JSON documents, ``parse`` turns one document into a
:class:`~mailfate.core.model.Record` (pure), ``ingest`` is the one path every source takes into the
store, and ``sqs`` consumes a queue. The HTTP source, ``POST /sns``, lives with the server in
:mod:`mailfate.web`.
"""
